import path from 'node:path'
import { createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { builtinCatalogFile, loadCatalog } from '@cpi/cpi-core'
import { recompute, startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import { describe, expect } from 'vitest'
import { NEVER_IDLE, produce, scenarioEvents } from './support/engine-faults.ts'
import { clickhouseSettingsFor, testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal } from './support/ledger.ts'
import { topicSize } from './support/topic-reader.ts'

const changed = path.join(import.meta.dirname, 'fixtures/fast-quote-v2.json')

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
})
