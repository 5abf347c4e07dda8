import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'

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

/** The interactions about to breach, soonest deadline first, and how many there are per CPI and segment. */
export async function queryBreaching(
  clickhouse: ClickHouse,
  query: BreachingQuery,
): Promise<{ interactions: BreachingInteraction[]; total: number; counts: BreachingCount[] }> {
  if (query.cpis.length === 0) return { interactions: [], total: 0, counts: [] }
  const db = clickhouse.database
  // Pending rows of the CPIs in the look-back, each with its deadline and its partition's watermark.
  const due = `
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
  const params = { cpis: [...query.cpis], lookBack: query.lookBackMs, within: query.withinMs }
  try {
    const [listed, counted] = await Promise.all([
      clickhouse.reader.query({
        query: `SELECT * FROM (${due}) ORDER BY deadline, cpi, subject LIMIT {limit:UInt32}`,
        query_params: { ...params, limit: query.limit },
        format: 'JSONEachRow',
      }),
      clickhouse.reader.query({
        query: `SELECT cpi, segment.1 AS dimension, segment.2 AS value, count() AS n
                FROM (${due})
                ARRAY JOIN arrayConcat([('all', 'all')], arrayZip(mapKeys(segments), mapValues(segments))) AS segment
                GROUP BY cpi, dimension, value ORDER BY cpi, dimension = 'all' DESC, dimension, n DESC, value`,
        query_params: params,
        format: 'JSONEachRow',
      }),
    ])
    const rows = await listed.json<Record<string, unknown>>()
    const counts = (await counted.json<Record<string, unknown>>()).map((row) => ({
      cpi: String(row.cpi),
      dimension: String(row.dimension),
      value: String(row.value),
      count: Number(row.n),
    }))
    return {
      interactions: rows.map((row) => ({
        cpi: String(row.cpi),
        subject: String(row.subject),
        startedAt: Number(row.started),
        deadline: Number(row.deadline),
        now: Number(row.now),
        segments: row.segments as Record<string, string>,
      })),
      total: counts.filter((count) => count.dimension === 'all').reduce((sum, count) => sum + count.count, 0),
      counts,
    }
  } catch (error) {
    throw toClickHouseError(error, 'reading the interactions about to breach')
  }
}

export interface BreachingCount {
  cpi: string
  /** `all` for the whole CPI, else a segment field. */
  dimension: string
  value: string
  count: number
}
