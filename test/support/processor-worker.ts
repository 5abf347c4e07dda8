// The processor in a process of its own, for fault tests that kill it with SIGKILL. It runs
// the real startProcessor on the shared ClickHouse database and exits 0 once its group has
// committed the whole topic and a final sweep has run.
//
// Environment: WORKER_CONFIG (JSON: env, the configuration variables; clickhouse, settings).
import { setTimeout as sleep } from 'node:timers/promises'
import { type ClickHouseSettings, createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { createKafka } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'

const { env, clickhouse: settings } = JSON.parse(process.env.WORKER_CONFIG ?? '{}') as {
  env: Record<string, string>
  clickhouse: ClickHouseSettings
}
const config = loadConfig(env)
const logger = createLogger({ service: 'processor-worker', level: 'error', destination: process.stderr })
const clickhouse = createClickHouse(settings)
await migrateToLatest(clickhouse)
const kafka = createKafka({ ...config.kafka, logger })
const processor = await startProcessor({
  config,
  kafka,
  clickhouse,
  registry: createMetricsRegistry({ service: 'w' }),
  logger,
})
await processor.started

const admin = kafka.admin()
await admin.connect()
for (;;) {
  await sleep(250)
  try {
    // Caught up: the processor on the events topic and the dead-letter recorder on its topic.
    const caughtUp = async (topic: string, groupId: string) => {
      const ends = await admin.fetchTopicOffsets(topic)
      const [group] = await admin.fetchOffsets({ groupId, topics: [topic] })
      const committed = new Map(
        (group?.partitions ?? []).map((entry) => [entry.partition, Number(entry.offset)]),
      )
      return ends.every(
        (end) => Number(end.high) === 0 || (committed.get(end.partition) ?? -1) >= Number(end.high),
      )
    }
    if (
      (await caughtUp(config.topics.events, config.processor.groupId)) &&
      (await caughtUp(config.topics.deadLetter, `${config.processor.groupId}-dead-letters`))
    ) {
      break
    }
  } catch {
    // a coordinator still loading: ask again
  }
}
await processor.processor.sweep()
await admin.disconnect()
await processor.stop()
await clickhouse.close()
process.exit(0)
