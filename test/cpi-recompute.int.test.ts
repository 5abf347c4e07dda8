import path from 'node:path'
import { type ClickHouse, createClickHouse, migrateToLatest, queryWatermarks } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { builtinCatalogFile, loadCatalog } from '@cpi/cpi-core'
import { BatchingProducer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { recompute, startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import type { Kafka } from 'kafkajs'
import { describe, expect } from 'vitest'
import { NEVER_IDLE, produce, scenarioEvents } from './support/engine-faults.ts'
import { clickhouseSettingsFor, testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal } from './support/ledger.ts'
import { topicSize } from './support/topic-reader.ts'

const changed = path.join(import.meta.dirname, 'fixtures/fast-quote-v2.json')
const SECOND = 1000
const DAY = 86_400_000

async function fastQuoteOutcomes(clickhouse: Parameters<typeof migrateToLatest>[0]) {
  const result = await clickhouse.reader.query({
    query: `SELECT subject, state, status, latency_ms, open, definition_version FROM ${clickhouse.database}.outcomes FINAL
            WHERE cpi = 'fast_quote' ORDER BY subject`,
    format: 'JSONEachRow',
  })
  return result.json<Record<string, unknown>>()
}

describe('recompute after a definition changes', () => {
  it('gives what a fresh run with the new definition gives, and the rows carry its version', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('recompute_events', 3)
    const deadLetter = await createTopic('recompute_dlq', 1)
    const { sent } = scenarioEvents(61)
    await produce(kafka, topic, sent, logger)
    const total = await topicSize(kafka, topic)
    const environment = (groupId: string, catalogFiles?: string) =>
      loadConfig({
        KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
        CPI_EVENTS_TOPIC: topic,
        CPI_DEAD_LETTER_TOPIC: deadLetter,
        CPI_PROCESSOR_GROUP: groupId,
        CPI_IDLE_AFTER_MS: NEVER_IDLE,
        ...(catalogFiles ? { CPI_CATALOG_FILES: catalogFiles } : {}),
      })
    const run = async (config: ReturnType<typeof loadConfig>, database: typeof clickhouse) => {
      const processor = await startProcessor({
        config,
        kafka,
        clickhouse: database,
        registry: createMetricsRegistry({ service: 't' }),
        logger,
      })
      try {
        await expect
          .poll(() => committedTotal(kafka, config.processor.groupId, topic), {
            timeout: 120_000,
            interval: 100,
          })
          .toBe(total)
        await processor.processor.sweep()
      } finally {
        await processor.stop()
      }
    }

    // 1. Live processing with the built-in definition (version 1, 30 s).
    await run(environment(uniqueName('processor')), clickhouse)
    const before = await fastQuoteOutcomes(clickhouse)
    expect(before.length).toBeGreaterThan(500)
    expect(new Set(before.map((row) => row.definition_version))).toEqual(new Set([1]))

    // 2. The definition changes (10 s, version 2): recompute the history.
    const catalog = await loadCatalog([builtinCatalogFile, changed])
    const definition = catalog.find((candidate) => candidate.name === 'fast_quote')
    expect(definition?.version).toBe(2)
    const report = await recompute({
      clickhouse,
      definition: definition as NonNullable<typeof definition>,
      topic,
      from: Date.parse('2000-01-01T00:00:00Z'),
      to: Date.now(),
    })
    expect(report.interactions).toBe(before.length)
    const recomputed = await fastQuoteOutcomes(clickhouse)
    expect(new Set(recomputed.map((row) => row.definition_version))).toEqual(new Set([2]))
    // A stricter expectation can only turn successes into misses.
    const good = (rows: Record<string, unknown>[]) => rows.filter((row) => row.state === 'good').length
    expect(good(recomputed)).toBeLessThan(good(before))

    // 3. A fresh run from the same topic with the new definition, into another database.
    const fresh = createClickHouse(clickhouseSettingsFor(uniqueName('fresh')))
    await migrateToLatest(fresh)
    try {
      await run(environment(uniqueName('processor'), changed), fresh)
      expect(await fastQuoteOutcomes(fresh)).toEqual(recomputed)
    } finally {
      await fresh.writer.command({ query: `DROP DATABASE IF EXISTS ${fresh.database}` })
      await fresh.close()
    }
  }, 240_000)

  it('brings events stored beyond the revision horizon in with includeLate, and live recomputation keeps them', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const { topic, send, stop } = await startOnOnePartition({ kafka, clickhouse, createTopic, logger })
    try {
      const now = Date.now()
      const old = now - 10 * DAY
      // Ten days ago a quote was answered in 5 s, but the answer arrives after its source's
      // event of now: older than the source's latest by more than the 8-day horizon.
      await send(
        quoteEvent('quote.requested', 'late-1', old),
        quoteEvent('quote.requested', 'ontime-1', old + 60 * SECOND),
        quoteEvent('quote.issued', 'ontime-1', old + 65 * SECOND),
        quoteEvent('quote.requested', 'now-1', now - 60 * SECOND),
        quoteEvent('quote.issued', 'now-1', now - 57 * SECOND),
        quoteEvent('quote.issued', 'late-1', old + 5 * SECOND),
      )
      await expect
        .poll(() => outcomeStates(clickhouse), { timeout: 60_000, interval: 200 })
        .toEqual({ 'late-1': 'bad', 'now-1': 'good', 'ontime-1': 'good' })
      expect(await tooLateIds(clickhouse, topic)).toEqual(['late-1-quote.issued'])
      // Recompute writes as of the recorded watermark: wait until a sweep recorded the live one.
      const decidedAt = (await lateOutcome(clickhouse)).watermark
      await expect
        .poll(async () => (await queryWatermarks(clickhouse)).find((row) => row.topic === topic)?.watermark, {
          timeout: 15_000,
        })
        .toBeGreaterThanOrEqual(decidedAt)

      const catalog = await loadCatalog([builtinCatalogFile])
      const definition = catalog.find((candidate) => candidate.name === 'fast_quote')
      const report = await recompute({
        clickhouse,
        definition: definition as NonNullable<typeof definition>,
        topic,
        from: old - DAY,
        to: now,
        includeLate: true,
      })
      // As the events say: answered in 5 s, within the consumer's 30 s.
      expect(await outcomeStates(clickhouse)).toEqual({
        'late-1': 'good',
        'now-1': 'good',
        'ontime-1': 'good',
      })
      expect((await lateOutcome(clickhouse)).latency_ms).toBe(5000)
      expect(report.lateEventsIncluded).toBe(1)
      expect(await tooLateIds(clickhouse, topic)).toEqual([])

      // A new event of the interaction: the live path recomputes it and keeps the answer in.
      const accepted = quoteEvent('quote.accepted', 'late-1', Date.now())
      await send(accepted)
      await expect
        .poll(async () => (await lateOutcome(clickhouse)).watermark, { timeout: 60_000 })
        .toBeGreaterThanOrEqual(Date.parse(accepted.time))
      expect(await lateOutcome(clickhouse)).toMatchObject({ state: 'good', latency_ms: 5000 })
    } finally {
      await stop()
    }
  })
})

/** A processor on a topic of one partition: the late answer follows its source's event of now there. */
async function startOnOnePartition(fixtures: {
  kafka: Kafka
  clickhouse: ClickHouse
  createTopic: (prefix: string, partitions?: number) => Promise<string>
  logger: Logger
}) {
  const { kafka, clickhouse, createTopic, logger } = fixtures
  const topic = await createTopic('late_events', 1)
  const config = loadConfig({
    KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
    CPI_EVENTS_TOPIC: topic,
    CPI_DEAD_LETTER_TOPIC: await createTopic('late_dlq', 1),
    CPI_PROCESSOR_GROUP: uniqueName('processor'),
    CPI_SWEEP_INTERVAL_MS: '200',
  })
  const registry = createMetricsRegistry({ service: 't' })
  const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
  const producer = new BatchingProducer(kafka, { logger })
  await processor.started
  await producer.connect()
  return {
    topic,
    send: (...events: ReturnType<typeof quoteEvent>[]) =>
      producer.send(
        topic,
        events.map((event) => ({ key: event.subject, value: JSON.stringify(event) })),
      ),
    stop: async () => {
      await producer.disconnect()
      await processor.stop()
    },
  }
}

function quoteEvent(type: string, subject: string, time: number) {
  return {
    specversion: '1.0',
    id: `${subject}-${type}`,
    source: '/quoting/web',
    type,
    time: new Date(time).toISOString(),
    subject,
    data: type === 'quote.requested' ? { customerId: `c-${subject}`, customerType: 'consumer' } : {},
  }
}

async function outcomeStates(clickhouse: ClickHouse): Promise<Record<string, string>> {
  const result = await clickhouse.reader.query({
    query: `SELECT subject, state FROM ${clickhouse.database}.outcomes FINAL
            WHERE cpi = 'fast_quote' AND subject IN ('late-1', 'ontime-1', 'now-1') ORDER BY subject`,
    format: 'JSONEachRow',
  })
  return Object.fromEntries(
    (await result.json<{ subject: string; state: string }>()).map((row) => [row.subject, row.state]),
  )
}

async function lateOutcome(clickhouse: ClickHouse) {
  const result = await clickhouse.reader.query({
    query: `SELECT state, latency_ms, toUnixTimestamp64Milli(watermark) AS watermark_ms FROM ${clickhouse.database}.outcomes FINAL
            WHERE cpi = 'fast_quote' AND subject = 'late-1'`,
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{
    state: string
    latency_ms: number | string | null
    watermark_ms: string
  }>()
  return {
    state: row?.state,
    latency_ms: row?.latency_ms === null ? null : Number(row?.latency_ms),
    watermark: Number(row?.watermark_ms),
  }
}

async function tooLateIds(clickhouse: ClickHouse, topic: string): Promise<string[]> {
  const result = await clickhouse.reader.query({
    query: `SELECT DISTINCT id FROM ${clickhouse.database}.events
            WHERE kafka_topic = {topic:String} AND too_late = 1 ORDER BY id`,
    query_params: { topic },
    format: 'JSONEachRow',
  })
  return (await result.json<{ id: string }>()).map((row) => row.id)
}
