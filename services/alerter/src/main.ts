// The alerter as a process of its own (the production shape). Run one instance: it keeps its
// progress in ClickHouse, so a restarted or replacement instance continues where it stopped.
import { runService } from '@cpi/service'
import { pipelineCheck, startAlerter } from './alerter-service.ts'

await runService({
  name: 'alerter',
  // Retention of the alerter's tables (the processor sets that of the events).
  clickhouse: { retention: (config) => ({ alertsDays: config.retention.alertsDays }) },
  start: async ({ config, kafka, clickhouse, registry, logger }) => {
    const alerter = await startAlerter({ config, clickhouse, kafka, registry, logger })
    return {
      ready: [pipelineCheck(alerter)],
      drain: [{ name: 'alerter', run: () => alerter.stop() }],
      message: 'alerter running',
    }
  },
})
