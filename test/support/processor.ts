import type { ClickHouse } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import type { Logger } from '@cpi/logger'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import type { Kafka } from 'kafkajs'
import { testEnvironment, uniqueName } from './environment.ts'

/**
 * The real processor in this process on the given topics, with a group of its own, sweeping
 * every 200 ms, started and consuming; `env` adds or overrides configuration variables.
 */
export async function startTestProcessor(
  deps: { kafka: Kafka; clickhouse: ClickHouse; logger: Logger },
  topics: { events: string; deadLetter: string },
  env: Record<string, string> = {},
) {
  const registry = createMetricsRegistry({ service: 'test' })
  const config = loadConfig({
    KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
    CPI_EVENTS_TOPIC: topics.events,
    CPI_DEAD_LETTER_TOPIC: topics.deadLetter,
    CPI_PROCESSOR_GROUP: uniqueName('processor'),
    CPI_SWEEP_INTERVAL_MS: '200',
    ...env,
  })
  const processor = await startProcessor({ ...deps, config, registry })
  await processor.started
  return { processor, registry }
}
