// Shared by the CPI engine's fault tests: a simulated stream, and the check of outcomes,
// CPI values and the raw ledger against the ground truth.
import { countEvents } from '@cpi/clickhouse'
import { BatchingProducer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { kafkaSink, parseScenario, type SimulatedEvent, sendAll, simulate } from '@cpi/simulator'
import type { Kafka } from 'kafkajs'
import { expect } from 'vitest'
import {
  partitionOfSubjects,
  storedOutcomes,
  storedValues,
  storedWatermarks,
  truthPerPartition,
} from './engine-truth.ts'
import { topicLedger } from './offset-ledger.ts'

export const MINUTE = 60_000
export const NEVER_IDLE = String(10 * 365 * 24 * 3_600_000)

export function scenarioEvents(seed: number): {
  simulation: ReturnType<typeof simulate>
  sent: SimulatedEvent[]
} {
  const cutoff = Date.now() - MINUTE
  const from = cutoff - 3 * 24 * 60 * MINUTE
  const simulation = simulate(parseScenario({ seed, ratePerSecond: 1, malformedShare: 0.01 }), {
    from,
    to: from + 40 * MINUTE,
  })
  return { simulation, sent: simulation.events.filter((event) => event.time <= cutoff) }
}

export async function produce(kafka: Kafka, topic: string, sent: SimulatedEvent[], logger: Logger) {
  // Small produce requests: small record batches, so kills and rebalances land between many batches.
  const producer = new BatchingProducer(kafka, { logger, maxBatchMessages: 100 })
  await producer.connect()
  await sendAll(sent, kafkaSink(producer, topic), 100)
  await producer.disconnect()
}

/** Outcomes, values and the raw ledger against the ground truth; returns how many outcomes were compared. */
export async function expectGroundTruth(
  clickhouse: Parameters<typeof storedOutcomes>[0],
  topic: string,
  simulation: ReturnType<typeof simulate>,
  validIds: ReadonlySet<string>,
  /** Kafka's end offset of each partition of the topic. */
  ends: ReadonlyMap<number, number>,
  sent: readonly SimulatedEvent[],
): Promise<{ truth: ReturnType<typeof truthPerPartition>; watermarks: Map<number, number> }> {
  const watermarks = await storedWatermarks(clickhouse, topic)
  const truth = truthPerPartition(simulation.facts, await partitionOfSubjects(clickhouse), watermarks)
  // The built-in CPIs the truth knows; a custom CPI of the run is the caller's to check.
  const builtins = new Set([
    'fast_quote',
    'on_time_in_full',
    'nothing_broke',
    'first_time_resolution',
    'first_reply_2h',
    'phone_answer_20s',
    'csat',
    'payment_flexibility',
    'value_delivered',
  ])
  const stored = new Map(
    (await storedOutcomes(clickhouse))
      .filter((row) => row.state !== 'excluded' && builtins.has(row.cpi))
      .map((row) => [`${row.cpi}|${row.subject}`, row]),
  )
  const wrong: string[] = []
  for (const expected of truth.outcomes) {
    if (expected.state === 'excluded') continue
    const key =
      expected.cpi === 'csat' ? `csat|${expected.subject}.survey` : `${expected.cpi}|${expected.subject}`
    const got = stored.get(key)
    stored.delete(key)
    const same =
      got &&
      got.state === expected.state &&
      got.status === (expected.status ?? '') &&
      (expected.latencyMs === undefined || got.latencyMs === expected.latencyMs)
    if (!same && wrong.length < 10)
      wrong.push(`${key}: stored ${JSON.stringify(got)}, truth ${JSON.stringify(expected)}`)
  }
  expect(wrong).toEqual([])
  const extra = [...stored.entries()].slice(0, 5).map(([key, row]) => {
    const truthRow = truth.outcomes.find(
      (outcome) => `${outcome.cpi}|${outcome.subject}${outcome.cpi === 'csat' ? '.survey' : ''}` === key,
    )
    return `${key}: stored ${JSON.stringify(row)}, truth ${JSON.stringify(truthRow)}, watermark ${watermarks.get(row.partition)}`
  })
  expect(extra).toEqual([])
  const values = await storedValues(clickhouse)
  for (const row of truth.rows) {
    const key = `${row.cpi}|${row.windowStart}|${row.dimension}|${row.value}`
    expect(values.get(key), key).toEqual({ good: row.good, total: row.total, pending: row.pending })
  }
  // Nothing the truth lacks: the keys beyond its rows, with their values, named. A row whose
  // interactions were all pending, then left out (a checkout abandoned before payment), keeps
  // zero counts: it says nothing, as a missing row does.
  const empty = (value: { good: number; total: number; pending: number }) =>
    value.good === 0 && value.total === 0 && value.pending === 0
  const truthKeys = new Set(
    truth.rows.map((row) => `${row.cpi}|${row.windowStart}|${row.dimension}|${row.value}`),
  )
  expect(
    [...values.entries()]
      .filter(
        ([key, value]) => builtins.has(key.split('|')[0] as string) && !truthKeys.has(key) && !empty(value),
      )
      .slice(0, 5)
      .map(([key, value]) => `${key}: ${JSON.stringify(value)}`),
  ).toEqual([])
  // The ledger: every valid event sent is stored, once after deduplication; nothing else is.
  const result = await clickhouse.reader.query({
    query: `SELECT DISTINCT id FROM ${clickhouse.database}.events`,
    format: 'JSONEachRow',
  })
  const storedIds = new Set((await result.json<{ id: string }>()).map((row) => row.id))
  expect(storedIds).toEqual(validIds)
  expect((await countEvents(clickhouse)).distinct).toBe(validIds.size)
  // The (partition, offset) ledger: each offset of the topic is in events (valid) or
  // rejected_events (invalid), never twice; only the duplicate copies of an event id are not,
  // as the events table keeps one row per id by design.
  const ledger = await topicLedger(clickhouse, topic)
  for (const row of ledger) {
    expect(row.duplicates, `partition ${row.partition}: an offset counted twice`).toBe(0)
    expect(row.max).toBeLessThan(ends.get(row.partition) ?? 0)
  }
  const messages = [...ends.values()].reduce((sum, end) => sum + end, 0)
  const duplicateCopies = sent.filter((event) => event.duplicate).length
  expect(ledger.reduce((sum, row) => sum + row.distinct, 0)).toBe(messages - duplicateCopies)
  return { truth, watermarks }
}

export const validIdsOf = (sent: readonly SimulatedEvent[]) =>
  new Set(sent.filter((event) => !event.invalid).map((event) => event.id))
