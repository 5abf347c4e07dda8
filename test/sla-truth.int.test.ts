// Business-hours calendars and pausing clocks (docs/cpi-catalog.md) end to end against the
// simulator's own truth: hundreds of support tickets over twelve days (weekends, both clock
// changes of autumn 2026, holidays, four desks in four time zones and one region on wall time,
// questions to the customer that stop the resolution clock), sent in shuffled order through the
// real broker to a real processor on the embedded engine. Every ticket's outcome and every
// hour × segment and day × segment count must equal what services/simulator/src/sla-scenario.ts
// computed from the facts with its own arithmetic (an open miss on a calendar: as of the
// watermark the processor last measured it at, which the measuring schedule must allow).
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ClickHouse } from '@cpi/clickhouse'
import { ensureTopics } from '@cpi/kafka'
import {
  Random,
  type SlaOutcome,
  type SlaScenario,
  type SlaTicketFact,
  type SlaWindowTruth,
  slaCatalog,
  slaClockEvent,
  slaOutcome,
  slaScenario,
  slaWindowKey,
} from '@cpi/simulator'
import { describe, expect } from 'vitest'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestProcessor } from './support/processor.ts'

const DAY = 86_400_000
const PARTITIONS = 3

type Row = Record<string, unknown>
const number = (value: unknown) => (value === null || value === undefined ? null : Number(value))
const time = (ms: number | null) => (ms === null ? 'null' : new Date(ms).toISOString())

/** What the outcome row must hold for a truth outcome (the table's conventions: docs/querying.md). */
function expectedRow(outcome: SlaOutcome) {
  // An open miss on plain wall time is measured when read (latency null, open 1); one on a
  // calendar or with pauses is measured by the processor, here at the watermark (the scenario's end).
  const readTime = outcome.open && outcome.plainWallClock
  return {
    state: outcome.state,
    latency_ms: readTime ? null : outcome.latencyMs,
    wall_latency_ms: outcome.wallLatencyMs,
    pauses: outcome.pauses,
    paused_ms: outcome.pausedMs,
    open: readTime ? 1 : 0,
  }
}

function story(fact: SlaTicketFact | undefined): string {
  if (!fact) return ''
  const steps = fact.steps.map((step) => `${step.kind}@${time(step.at)}`).join(', ')
  return `[${fact.region}/${fact.channel}/${fact.priority} opened ${time(fact.openedAt)}: ${steps}]`
}

const fieldsOf = (row: Row) => ({
  state: row.state,
  latency_ms: number(row.latency_ms),
  wall_latency_ms: number(row.wall_latency_ms),
  pauses: number(row.pauses),
  paused_ms: number(row.paused_ms),
  open: number(row.open),
})

/**
 * What the row must hold. A miss still open on a calendar or with pauses is measured by the
 * processor when decided and then on a schedule (hourly while its clock can run, at the desk's
 * next opening, never while paused): its row is the truth as of the watermark it was measured at,
 * provided the schedule had no measurement due by the scenario's end. Every other row is the
 * truth as of the scenario's end.
 */
function expectationFor(scenario: SlaScenario, outcome: SlaOutcome, fact: SlaTicketFact, row: Row) {
  if (!outcome.open || outcome.plainWallClock) return { expected: expectedRow(outcome), problems: [] }
  const measuredAt = Number(row.watermark_ms)
  const then = slaOutcome(outcome.cpi, fact, { asOf: measuredAt, working: scenario.working })
  const problems: string[] = []
  if (measuredAt > scenario.asOf) problems.push(`measured at ${time(measuredAt)}, after the end`)
  if (then.remeasureAt !== undefined && then.remeasureAt <= scenario.asOf)
    problems.push(
      `measured at ${time(measuredAt)}, but due again at ${time(then.remeasureAt)}, before the end`,
    )
  const revisit = number(row.revisit_ms)
  if (revisit !== (then.remeasureAt ?? null))
    problems.push(`revisit_at expected ${time(then.remeasureAt ?? null)} got ${time(revisit)}`)
  return { expected: expectedRow(then), problems }
}

/** Each difference between the outcome rows and the truth, one line each with the ticket's story. */
function outcomeMismatches(scenario: SlaScenario, rows: readonly Row[]): string[] {
  const facts = new Map(scenario.facts.map((fact) => [fact.subject, fact]))
  const actual = new Map(rows.map((row) => [`${row.cpi} ${row.subject}`, row]))
  const problems: string[] = []
  for (const outcome of scenario.outcomes) {
    const key = `${outcome.cpi} ${outcome.subject}`
    const row = actual.get(key)
    const fact = facts.get(outcome.subject) as SlaTicketFact
    actual.delete(key)
    if (!row) {
      problems.push(`${key}: no outcome row (expected ${outcome.state}) ${story(fact)}`)
      continue
    }
    const { expected, problems: schedule } = expectationFor(scenario, outcome, fact, row)
    const got = fieldsOf(row)
    const fields = (Object.keys(expected) as (keyof typeof expected)[]).filter(
      (field) => expected[field] !== got[field],
    )
    const differences = [
      ...fields.map((field) => `${field} expected ${expected[field]} got ${got[field]}`),
      ...schedule,
    ]
    if (differences.length > 0) {
      const deadline = outcome.deadline === undefined ? 'after the end' : time(outcome.deadline)
      problems.push(
        `${key}: ${differences.join('; ')} (truth's deadline ${deadline}, calendar ${outcome.calendar ?? 'none'}) ${story(fact)}`,
      )
    }
  }
  for (const key of actual.keys()) problems.push(`${key}: an outcome row the truth does not have`)
  return problems
}

/** Each difference between the hourly and daily values and the truth's counts. */
function windowMismatches(truth: readonly SlaWindowTruth[], rows: readonly Row[]): string[] {
  const expected = new Map(truth.map((row) => [slaWindowKey(row), row]))
  const problems: string[] = []
  for (const row of rows) {
    const got = { good: Number(row.good), total: Number(row.total), pending: Number(row.pending) }
    if (got.good === 0 && got.total === 0 && got.pending === 0) continue
    const key = slaWindowKey({
      cpi: row.cpi as SlaWindowTruth['cpi'],
      grain: row.grain as SlaWindowTruth['grain'],
      windowStart: Number(row.window_ms),
      dimension: String(row.dimension),
      value: String(row.value),
    })
    const want = expected.get(key)
    expected.delete(key)
    if (!want) problems.push(`${key}: ${JSON.stringify(got)}, the truth has no such window`)
    else if (want.good !== got.good || want.total !== got.total || want.pending !== got.pending)
      problems.push(
        `${key}: expected good/total/pending ${want.good}/${want.total}/${want.pending}, got ${got.good}/${got.total}/${got.pending}`,
      )
  }
  for (const [key, want] of expected)
    problems.push(`${key}: expected ${want.good}/${want.total}/${want.pending}, no value`)
  return problems
}

async function rowsOf(clickhouse: ClickHouse, query: string): Promise<Row[]> {
  const result = await clickhouse.reader.query({ query, format: 'JSONEachRow' })
  return result.json<Row>()
}

async function mismatches(clickhouse: ClickHouse, scenario: SlaScenario): Promise<string[]> {
  const db = clickhouse.database
  const cpis = `('sla_first_reply', 'sla_resolution')`
  const outcomes = await rowsOf(
    clickhouse,
    `SELECT cpi, subject, state, latency_ms, wall_latency_ms, pauses, paused_ms, open,
            toUnixTimestamp64Milli(watermark) AS watermark_ms, toUnixTimestamp64Milli(revisit_at) AS revisit_ms
     FROM ${db}.outcomes FINAL WHERE cpi IN ${cpis} ORDER BY cpi, subject`,
  )
  const windows = await rowsOf(
    clickhouse,
    `SELECT 'hour' AS grain, cpi, toUnixTimestamp(window_start) * 1000 AS window_ms, dimension, value, good, total, pending
     FROM ${db}.cpi_values_hourly WHERE cpi IN ${cpis}
     UNION ALL
     SELECT 'day' AS grain, cpi, toUnixTimestamp(window_start) * 1000 AS window_ms, dimension, value, good, total, pending
     FROM ${db}.cpi_values_daily WHERE cpi IN ${cpis}`,
  )
  return [...outcomeMismatches(scenario, outcomes), ...windowMismatches(scenario.windows, windows)]
}

describe('business-hours calendars and pausing clocks against the simulator’s truth, end to end', () => {
  it('gives every ticket the truth’s state, waits and pauses, and every hour and day × segment its counts', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const scenario = slaScenario({ seed: 7 })
    const dir = await mkdtemp(path.join(tmpdir(), 'cpi-sla-truth-'))
    await writeFile(path.join(dir, 'catalog.json'), JSON.stringify(slaCatalog()))
    const topics = { events: uniqueName('sla_events'), deadLetter: uniqueName('sla_dlq') }
    await ensureTopics(kafka, [
      { topic: topics.events, numPartitions: PARTITIONS },
      { topic: topics.deadLetter, numPartitions: 1 },
    ])
    // Each partition's event-time clock stops at the scenario's end (the last event time, sent to
    // every partition): a quiet stream does not move it on with the wall clock during the test.
    const { processor } = await startTestProcessor({ kafka, clickhouse, logger }, topics, {
      CPI_CATALOG_FILES: path.join(dir, 'catalog.json'),
      CPI_IDLE_AFTER_MS: String(365 * DAY),
    })
    try {
      const random = new Random(2026)
      const shuffled = scenario.events
        .map((event) => ({ event, order: random.next() }))
        .sort((a, b) => a.order - b.order)
        .map(({ event }) => ({ key: event.key, value: event.text }))
      const producer = kafka.producer()
      await producer.connect()
      for (let offset = 0; offset < shuffled.length; offset += 400)
        await producer.send({ topic: topics.events, messages: shuffled.slice(offset, offset + 400) })
      await producer.send({
        topic: topics.events,
        messages: Array.from({ length: PARTITIONS }, (_, partition) => ({
          partition,
          key: `clock-${partition}`,
          value: slaClockEvent(`p${partition}`, scenario.asOf).text,
        })),
      })
      await producer.disconnect()

      let problems: string[] = []
      await expect
        .poll(
          async () => {
            problems = await mismatches(clickhouse, scenario)
            return problems.length
          },
          { timeout: 90_000, interval: 1000 },
        )
        .toBe(0)
        .catch(() => undefined)
      expect(
        problems,
        `${problems.length} differences from the truth (first 40):\n${problems.slice(0, 40).join('\n')}`,
      ).toEqual([])
      expect(scenario.outcomes.length).toBe(2 * scenario.facts.length)
    } finally {
      await processor.stop()
    }
  })
})
