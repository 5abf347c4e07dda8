import type { ClickHouse, ClickHouseSettings } from '@cpi/clickhouse'
import { createKafka, ensureTopics } from '@cpi/kafka'
import { createLogger, type Logger } from '@cpi/logger'
import type { Kafka } from 'kafkajs'
import { test as base } from 'vitest'
import { clickhouseSettingsFor, openMigratedClickHouse, testEnvironment, uniqueName } from './environment.ts'

export interface IntegrationFixtures {
  logger: Logger
  /** Settings of this file's own, migrated, initially empty database. */
  clickhouseSettings: ClickHouseSettings
  /** A client on that database, closed after the file's tests. */
  clickhouse: ClickHouse
  kafka: Kafka
  /** Creates a topic whose name no other test uses and returns the name. */
  createTopic(prefix: string, partitions?: number): Promise<string>
}

/**
 * `it` for integration tests: a migrated empty database and unique topics per test file,
 * against the real broker and engine from the global setup.
 */
export const it = base.extend<IntegrationFixtures>({
  logger: [
    // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures take their dependencies by destructuring
    async ({}, use) => use(createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'error' })),
    { scope: 'file' },
  ],
  clickhouseSettings: [
    // biome-ignore lint/correctness/noEmptyPattern: see above
    async ({}, use) => use(clickhouseSettingsFor(uniqueName('test'))),
    { scope: 'file' },
  ],
  clickhouse: [
    async ({ clickhouseSettings }, use) => {
      const clickhouse = await openMigratedClickHouse(clickhouseSettings)
      await use(clickhouse)
      await clickhouse.writer
        .command({ query: `DROP DATABASE IF EXISTS ${clickhouse.database}` })
        .catch(() => undefined)
      await clickhouse.close()
    },
    { scope: 'file' },
  ],
  kafka: [
    async ({ logger }, use) =>
      use(createKafka({ brokers: testEnvironment().kafkaBrokers, clientId: 'cpi-test', logger })),
    { scope: 'file' },
  ],
  createTopic: [
    async ({ kafka }, use) =>
      use(async (prefix: string, partitions = 3) => {
        const topic = uniqueName(prefix)
        await ensureTopics(kafka, [{ topic, numPartitions: partitions }])
        return topic
      }),
    { scope: 'file' },
  ],
})
