import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineQuery } from '../query.ts'

// The breach queue: interactions not decided yet whose deadline comes within a given time of
// their partition's watermark (the event-time "now" of the processor that decides them). A
// pending latency outcome is revisited just after its deadline (`revisit_at` = deadline + 1 ms,
// working time and pauses included), so its deadline is stored with it. One whose clock is
// paused has no revisit and is not in the queue until it resumes.

export interface BreachingInteraction {
  cpi: string
  subject: string
  /** The interaction's first event (ms since the epoch). */
  startedAt: number
  deadline: number
  /** Its partition's watermark: the deadline is `deadline - now` ahead of it (negative: due, not yet decided). */
  now: number
  segments: Record<string, string>
}

export interface BreachingQuery {
  /** The latency CPIs to look at (those whose pending interactions have a deadline). */
  cpis: readonly string[]
  /** How far ahead of the watermark a deadline may be (ms). */
  withinMs: number
  /** Interactions whose first event is older than this before the newest watermark are not looked at (ms). */
  lookBackMs: number
  limit: number
}

/** Pending rows of the CPIs in the look-back, each with its deadline and its partition's watermark. */
const due = (db: string) => `
    WITH (SELECT CAST((groupArray(partition), groupArray(current)), 'Map(UInt32, Int64)')
          FROM (SELECT partition, toUnixTimestamp64Milli(argMax(watermark, updated_at)) AS current
                FROM ${db}.watermarks GROUP BY partition)) AS watermark_of,
         (SELECT toUnixTimestamp64Milli(max(watermark)) FROM ${db}.watermarks) AS newest
    SELECT cpi, subject, toUnixTimestamp64Milli(cohort_at) AS started, toUnixTimestamp64Milli(revisit_at) - 1 AS deadline,
           watermark_of[kafka_partition] AS now, segments
    FROM ${db}.outcomes FINAL
    WHERE cpi IN {cpis:Array(String)} AND state = 'pending' AND revisit_at IS NOT NULL
      AND cohort_at >= fromUnixTimestamp64Milli(newest - {lookBack:Int64}, 'UTC')
      AND mapContains(watermark_of, kafka_partition)
      AND toUnixTimestamp64Milli(revisit_at) - 1 <= watermark_of[kafka_partition] + {within:Int64}`

const dueParams = z.object({
  cpis: z.array(z.string()),
  lookBack: z.number().int(),
  within: z.number().int(),
})

const breachingQuery = defineQuery({
  name: 'reading the interactions about to breach',
  params: dueParams.extend({ limit: z.number().int().nonnegative() }),
  sql: (database) => `SELECT * FROM (${due(database)}) ORDER BY deadline, cpi, subject LIMIT {limit:UInt32}`,
  row: z
    .object({
      cpi: z.string(),
      subject: z.string(),
      started: z.coerce.number(),
      deadline: z.coerce.number(),
      now: z.coerce.number(),
      segments: z.record(z.string(), z.string()),
    })
    .transform(
      (row): BreachingInteraction => ({
        cpi: row.cpi,
        subject: row.subject,
        startedAt: row.started,
        deadline: row.deadline,
        now: row.now,
        segments: row.segments,
      }),
    ),
})

const breachingCountQuery = defineQuery({
  name: 'counting the interactions about to breach',
  params: dueParams,
  sql: (database) => `SELECT cpi, segment.1 AS dimension, segment.2 AS value, count() AS n
                FROM (${due(database)})
                ARRAY JOIN arrayConcat([('all', 'all')], arrayZip(mapKeys(segments), mapValues(segments))) AS segment
                GROUP BY cpi, dimension, value ORDER BY cpi, dimension = 'all' DESC, dimension, n DESC, value`,
  row: z
    .object({ cpi: z.string(), dimension: z.string(), value: z.string(), n: z.coerce.number() })
    .transform(({ n, ...row }): BreachingCount => ({ ...row, count: n })),
  what: () => 'reading the interactions about to breach',
})

/** The interactions about to breach, soonest deadline first, and how many there are per CPI and segment. */
export async function queryBreaching(
  clickhouse: ClickHouse,
  query: BreachingQuery,
): Promise<{ interactions: BreachingInteraction[]; total: number; counts: BreachingCount[] }> {
  if (query.cpis.length === 0) return { interactions: [], total: 0, counts: [] }
  const params = { cpis: [...query.cpis], lookBack: query.lookBackMs, within: query.withinMs }
  const [interactions, counts] = await Promise.all([
    breachingQuery(clickhouse, { ...params, limit: query.limit }),
    breachingCountQuery(clickhouse, params),
  ])
  return {
    interactions,
    total: counts.filter((count) => count.dimension === 'all').reduce((sum, count) => sum + count.count, 0),
    counts,
  }
}

export interface BreachingCount {
  cpi: string
  /** `all` for the whole CPI, else a segment field. */
  dimension: string
  value: string
  count: number
}
