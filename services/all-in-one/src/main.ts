import { loadConfigOrExit } from '@cpi/config'
import { createLogger } from '@cpi/logger'
import { startAllInOne } from './app.ts'

const config = loadConfigOrExit()

const logger = createLogger({ service: 'all-in-one', level: config.log.level })
const app = await startAllInOne(config, logger)
app.installSignalHandlers()

process.stdout.write(
  [
    '',
    '  CPI pipeline is running (all-in-one)',
    `    HTTP        ${app.url}`,
    `    ingest      POST ${app.url}/v1/events   (Authorization: Bearer <key>)`,
    `    health      ${app.url}/healthz   readiness ${app.url}/readyz   metrics ${app.url}/metrics`,
    `    Kafka       ${config.kafka.brokers.join(', ')}`,
    `    ClickHouse  ${config.clickhouse.kind === 'embedded' ? `embedded engine at ${config.clickhouse.path}` : config.clickhouse.url} (database ${config.clickhouse.database})`,
    `    simulator   ${config.simulator.enabled ? `on, ${config.simulator.ratePerSecond} interactions/s via ${config.simulator.target} (CPI_SIMULATOR=off turns it off)` : 'off'}`,
    '  Ctrl-C stops it.',
    '',
    '',
  ].join('\n'),
)
