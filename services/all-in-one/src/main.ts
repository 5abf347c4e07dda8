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
    `    dashboard   ${app.url}/   (live CPIs, drill-down, alerts)`,
    `    query API   ${app.url}/v1/cpis   OpenAPI ${app.url}/v1/openapi.json   live ${app.url}/v1/stream`,
    `    ingest      POST ${app.url}/v1/events   (Authorization: Bearer <key>)`,
    `    health      ${app.url}/healthz   readiness ${app.url}/readyz   metrics ${app.url}/metrics`,
    `    Kafka       ${config.kafka.brokers.join(', ')}`,
    `    ClickHouse  ${config.clickhouse.kind === 'embedded' ? `embedded engine at ${config.clickhouse.path}` : config.clickhouse.url} (database ${config.clickhouse.database})`,
    `    alerter     ${config.alerter.enabled ? `on; notifies ${config.alerter.webhooks.length} webhook(s), ${config.alerter.slackWebhooks.length} Slack webhook(s), topic ${config.alerter.topic}` : 'off'}`,
    `    simulator   ${config.simulator.enabled ? `on, ${config.simulator.ratePerSecond} interactions/s via ${config.simulator.target} (CPI_SIMULATOR=off turns it off)` : 'off'}`,
    '  Ctrl-C stops it.',
    '',
    '',
  ].join('\n'),
)
