import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type AllInOne, startAllInOne } from '@cpi/all-in-one'
import { loadConfig } from '@cpi/config'
import type { Logger } from '@cpi/logger'
import { clickhouseSettingsFor, freePort, testEnvironment, uniqueName } from './environment.ts'

export interface RunningProduct {
  app: AllInOne
  /** Shuts the process's parts down and removes its data directory. */
  stop(): Promise<void>
}

/**
 * The whole product in this process (simulator → Kafka → processor → ClickHouse → API → page)
 * on the test broker and engine, with its own database, topics and data directory: what the
 * browser tests drive. The simulator backfills an hour at 20 interactions/s; `env` adds to or
 * overrides the configuration.
 */
export async function startProduct(
  name: string,
  logger: Logger,
  env: Record<string, string> = {},
): Promise<RunningProduct> {
  const { clickhouse, kafkaBrokers } = testEnvironment()
  const database = uniqueName(name)
  const settings = clickhouseSettingsFor(database)
  const dataDir = await mkdtemp(path.join(tmpdir(), `cpi-${name}-`))
  const config = loadConfig({
    PORT: String(await freePort()),
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: kafkaBrokers.join(','),
    CLICKHOUSE_DATABASE: database,
    ...(clickhouse.kind === 'http'
      ? {
          CLICKHOUSE_URL: clickhouse.url,
          CLICKHOUSE_USER: clickhouse.username,
          CLICKHOUSE_PASSWORD: clickhouse.password,
        }
      : { CLICKHOUSE_PATH: settings.kind === 'embedded' ? settings.path : '' }),
    CPI_DATA_DIR: dataDir,
    CPI_EVENTS_TOPIC: uniqueName('events'),
    CPI_EVENTS_PARTITIONS: '3',
    CPI_DEAD_LETTER_TOPIC: uniqueName('dlq'),
    CPI_ALERTS_TOPIC: uniqueName('alerts'),
    CPI_PROCESSOR_GROUP: uniqueName('processor'),
    CPI_SIMULATOR: 'on',
    CPI_SIMULATOR_TARGET: 'kafka',
    CPI_SIMULATOR_RATE: '20',
    CPI_SIMULATOR_BACKFILL_HOURS: '1',
    ...env,
  })
  try {
    const app = await startAllInOne(config, logger, { exit: () => undefined })
    return {
      app,
      stop: async () => {
        await app.shutdown('test done')
        await rm(dataDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true })
    throw error
  }
}
