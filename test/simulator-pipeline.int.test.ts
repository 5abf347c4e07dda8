import { countRejectedEvents } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { BatchingProducer } from '@cpi/kafka'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import { httpSink, kafkaSink, parseScenario, type SimulatedEvent, sendAll, simulate } from '@cpi/simulator'
import { describe, expect } from 'vitest'
import { testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestGateway, TEST_KEY } from './support/gateway.ts'

const MINUTE = 60_000

async function distinctIds(clickhouse: Parameters<typeof countRejectedEvents>[0]): Promise<Set<string>> {
  const result = await clickhouse.reader.query({
    query: `SELECT DISTINCT id FROM ${clickhouse.database}.events`,
    format: 'JSONEachRow',
  })
  return new Set((await result.json<{ id: string }>()).map((row) => row.id))
}

/** What rejected_events must hold for these sent events: the planted invalid ones, by reason. */
function rejectionsOf(sent: readonly SimulatedEvent[], origin: 'ingest' | 'processor') {
  const counts = new Map<string, number>()
  for (const event of sent) if (event.invalid) counts.set(event.invalid, (counts.get(event.invalid) ?? 0) + 1)
  return [...counts]
    .map(([reason, count]) => ({ origin, reason, count }))
    .sort((a, b) => a.reason.localeCompare(b.reason))
}

describe('simulated streams through the real pipeline: nothing lost, nothing doubled, every reject explained', () => {
  it('through the gateway: the events table holds exactly the valid events, rejected_events the planted invalid ones', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const gateway = await startTestGateway(logger, { CPI_INGEST_RATE_LIMIT: '1000000' })
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: gateway.topics.events,
      CPI_DEAD_LETTER_TOPIC: gateway.topics.deadLetter,
      CPI_PROCESSOR_GROUP: uniqueName('processor'),
    })
    const processor = await startProcessor({
      config,
      kafka,
      clickhouse,
      registry: createMetricsRegistry({ service: 't' }),
      logger,
    })
    try {
      await processor.started
      const now = Date.now()
      const from = now - 2 * 24 * 60 * MINUTE
      const scenario = parseScenario({ seed: 21, ratePerSecond: 5, malformedShare: 0.02 })
      const simulation = simulate(scenario, { from, to: from + 10 * MINUTE })
      const sent = simulation.events.filter((event) => event.arrival <= now)
      await sendAll(sent, httpSink({ url: gateway.url, key: TEST_KEY }), 1000)

      const expectedIds = new Set(sent.filter((event) => !event.invalid).map((event) => event.id))
      const invalid = sent.filter((event) => event.invalid)
      expect(sent.filter((event) => event.duplicate).length).toBeGreaterThan(20)
      expect(invalid.length).toBeGreaterThan(20)

      await expect
        .poll(async () => (await distinctIds(clickhouse)).size, { timeout: 60_000 })
        .toBe(expectedIds.size)
      expect([...(await distinctIds(clickhouse))].sort()).toEqual([...expectedIds].sort())

      await expect
        .poll(() => countRejectedEvents(clickhouse), { timeout: 30_000 })
        .toEqual(rejectionsOf(sent, 'ingest'))
    } finally {
      await processor.stop()
      await gateway.close()
    }
  })

  it('straight to Kafka: the processor rejects the same events the gateway would, with the same reasons', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const events = await createTopic('sim_events', 3)
    const deadLetter = await createTopic('sim_dlq', 1)
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: events,
      CPI_DEAD_LETTER_TOPIC: deadLetter,
      CPI_PROCESSOR_GROUP: uniqueName('processor'),
    })
    // A database of its own for this test's counts.
    await clickhouse.writer.command({ query: `TRUNCATE TABLE ${clickhouse.database}.events` })
    await clickhouse.writer.command({ query: `TRUNCATE TABLE ${clickhouse.database}.rejected_events` })
    const processor = await startProcessor({
      config,
      kafka,
      clickhouse,
      registry: createMetricsRegistry({ service: 't' }),
      logger,
    })
    const producer = new BatchingProducer(kafka, { logger })
    try {
      await processor.started
      await producer.connect()
      const now = Date.now()
      const from = now - 24 * 60 * MINUTE
      const simulation = simulate(parseScenario({ seed: 22, ratePerSecond: 5, malformedShare: 0.02 }), {
        from,
        to: from + 5 * MINUTE,
      })
      const sent = simulation.events.filter((event) => event.arrival <= now)
      await sendAll(sent, kafkaSink(producer, events))
      const expectedIds = new Set(sent.filter((event) => !event.invalid).map((event) => event.id))
      await expect
        .poll(async () => (await distinctIds(clickhouse)).size, { timeout: 60_000 })
        .toBe(expectedIds.size)
      await expect
        .poll(() => countRejectedEvents(clickhouse), { timeout: 30_000 })
        .toEqual(rejectionsOf(sent, 'processor'))
    } finally {
      await producer.disconnect()
      await processor.stop()
    }
  })
})
