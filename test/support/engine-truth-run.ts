// The engine against the simulator's ground truth (test/cpi-engine*.int.test.ts): one run,
// through the real broker and engine, with the processor's settings given. Each file that runs
// it has a database of its own (the simulated subjects repeat from run to run).
import path from 'node:path'
import type { ClickHouse } from '@cpi/clickhouse'
import { queryCpiValues } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { BatchingProducer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import { kafkaSink, parseScenario, sendAll, simulate } from '@cpi/simulator'
import type { Kafka } from 'kafkajs'
import { expect } from 'vitest'
import { expectGroundTruth, validIdsOf } from './engine-faults.ts'
import { partitionOfSubjects, storedOutcomes } from './engine-truth.ts'
import { testEnvironment, uniqueName } from './environment.ts'
import { committedTotal, endOffsets, expectDeadLettersRecorded } from './ledger.ts'
import { expectRollupAgreement } from './rollup-agreement.ts'
import { topicSize } from './topic-reader.ts'

const MINUTE = 60_000

/** Sends a simulated history (late, reordered, duplicated, invalid events) and checks every outcome and value. */
export async function expectEngineGroundTruth(
  {
    kafka,
    clickhouse,
    createTopic,
    logger,
  }: {
    kafka: Kafka
    clickhouse: ClickHouse
    createTopic: (name: string, partitions: number) => Promise<string>
    logger: Logger
  },
  settings: Record<string, string> = {},
): Promise<void> {
  const events = await createTopic('engine_events', 3)
  const deadLetter = await createTopic('engine_dlq', 1)
  const groupId = uniqueName('processor')
  const config = loadConfig({
    KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
    CPI_EVENTS_TOPIC: events,
    CPI_DEAD_LETTER_TOPIC: deadLetter,
    CPI_PROCESSOR_GROUP: groupId,
    // The partitions' clocks stay on their latest event time: the truth is taken as of it.
    CPI_IDLE_AFTER_MS: String(10 * 365 * 24 * 3_600_000),
    CPI_SWEEP_INTERVAL_MS: '500',
    // A custom CPI from a file, next to the built-ins: no code change.
    CPI_CATALOG_FILES: path.join(
      import.meta.dirname,
      '../../packages/cpi-core/test-fixtures/speed-to-lead.json',
    ),
    ...settings,
  })
  const registry = createMetricsRegistry({ service: 't' })
  const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
  const producer = new BatchingProducer(kafka, { logger })
  try {
    await processor.started
    await producer.connect()
    const cutoff = Date.now() - MINUTE
    const from = cutoff - 3 * 24 * 60 * MINUTE
    const simulation = simulate(parseScenario({ seed: 41, ratePerSecond: 1, malformedShare: 0.01 }), {
      from,
      to: from + 45 * MINUTE,
    })
    // Everything that happened by the cutoff, in arrival order (late and reordered included).
    const sent = simulation.events.filter((event) => event.time <= cutoff)
    await sendAll(sent, kafkaSink(producer, events))
    const total = await topicSize(kafka, events)
    expect(total).toBe(sent.length)
    await expect
      .poll(() => committedTotal(kafka, groupId, events), { timeout: 240_000, interval: 500 })
      .toBe(total)
    await processor.processor.sweep()

    // Freshness and lag are on /metrics: caught up, with the latest event time per partition.
    const metrics = await registry.metrics()
    expect(metrics.match(/cpi_consumer_lag_messages\{partition="\d"[^}]*\} 0/g)).toHaveLength(3)
    expect(metrics.match(/cpi_processor_last_event_time_seconds\{partition="\d"[^}]*\} \d+/g)).toHaveLength(3)
    expect(metrics).toMatch(/cpi_outcomes_written_total\{trigger="event"[^}]*\} [1-9]/)
    // Not one group failed (a failure is retried and its partitions start again from storage:
    // exact, but it would hide a fault).
    expect(metrics).toMatch(/cpi_processor_group_failures_total(\{[^}]*\})? 0\n/)

    // The dead-letter recorder has copied every rejection (the ledger counts them).
    await expectDeadLettersRecorded(kafka, groupId, deadLetter)
    // The rollup kept by difference holds what `outcomes` says, per partition and per minute.
    await expectRollupAgreement(clickhouse)
    // Every outcome, every window and segment's values and the ledgers equal the ground truth.
    const { truth, watermarks } = await expectGroundTruth(
      clickhouse,
      events,
      simulation,
      validIdsOf(sent),
      await endOffsets(kafka, events),
      sent,
    )
    expect(truth.outcomes.length).toBeGreaterThan(2000)
    const allStored = await storedOutcomes(clickhouse)

    // Percentiles from the view (a sketch) against the exact ones of the truth, per CPI and day.
    const exact = (sorted: number[], q: number) => {
      const position = (sorted.length - 1) * q
      const low = Math.floor(position)
      return (
        (sorted[low] as number) +
        ((sorted[Math.ceil(position)] as number) - (sorted[low] as number)) * (position - low)
      )
    }
    for (const row of await queryCpiValues(clickhouse, { grain: 'day', dimension: 'all' })) {
      if (row.p50 === null || row.cpi === 'speed_to_lead') continue
      const day = row.windowStart.slice(0, 10)
      const latencies = truth.outcomes
        .filter(
          (outcome) =>
            outcome.cpi === row.cpi && outcome.latencyMs !== undefined && outcome.state !== 'pending',
        )
        .filter((outcome) => new Date(outcome.cohortAt).toISOString().slice(0, 10) === day)
        .map((outcome) => outcome.latencyMs as number)
        .sort((a, b) => a - b)
      for (const [q, got] of [
        [0.5, row.p50],
        [0.9, row.p90],
        [0.99, row.p99],
      ] as const) {
        const want = exact(latencies, q)
        expect(
          Math.abs((got as number) - want),
          `${row.cpi} ${day} p${q * 100}: view ${got}, exact ${want}`,
        ).toBeLessThanOrEqual(Math.max(1, want * 0.01))
      }
    }

    // The custom CPI, checked against the facts directly: web tickets, first agent reply within 5 minutes.
    const partitionOf = await partitionOfSubjects(clickhouse)
    const expectedSpeed = new Map<string, string>()
    for (const fact of simulation.facts) {
      if (fact.kind !== 'ticket' || fact.channel !== 'web') continue
      const watermark = watermarks.get(partitionOf.get(fact.subject) ?? -1)
      if (watermark === undefined || fact.startedAt > watermark) continue
      const reply = fact.steps.find(
        (step) => step.type === 'message' && step.direction === 'outbound' && step.author === 'agent',
      )
      const deadline = fact.startedAt + 5 * MINUTE
      const state =
        reply && reply.at <= deadline
          ? reply.at <= watermark
            ? 'good'
            : 'pending'
          : watermark > deadline
            ? 'bad'
            : 'pending'
      expectedSpeed.set(fact.subject, state)
    }
    const storedSpeed = new Map(
      allStored
        .filter((row) => row.cpi === 'speed_to_lead' && row.state !== 'excluded')
        .map((row) => [row.subject, row.state]),
    )
    expect(storedSpeed.size).toBeGreaterThan(50)
    expect(storedSpeed).toEqual(expectedSpeed)
  } finally {
    await producer.disconnect()
    await processor.stop()
  }
}
