// The alerter as a process of its own (the production shape). Run one instance: it keeps its
// progress in ClickHouse, so a restarted or replacement instance continues where it stopped.
import { runService } from '@cpi/service'
import { startAlerter } from './alerter-service.ts'
import { alerterRunning } from './running.ts'

await runService({
  name: 'alerter',
  // Retention of the alerter's tables (the processor sets that of the events).
  clickhouse: { retention: (config) => ({ alertsDays: config.retention.alertsDays }) },
  start: async ({ config, kafka, clickhouse, registry, logger }) =>
    alerterRunning(await startAlerter({ config, clickhouse, kafka, registry, logger })),
})
