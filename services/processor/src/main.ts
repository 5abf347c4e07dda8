// The processor as a process of its own (the production shape), scaled out by running more
// of them in one consumer group.
import { runService } from '@cpi/service'
import { startProcessor } from './processor-service.ts'
import { processorRunning } from './running.ts'

await runService({
  name: 'processor',
  // Retention of the tables this process writes (the alerter sets its own).
  clickhouse: {
    retention: (config) => ({
      eventsDays: config.retention.eventsDays,
      rejectedDays: config.retention.rejectedDays,
    }),
  },
  start: async ({ config, kafka, clickhouse, registry, logger }) =>
    processorRunning(await startProcessor({ config, kafka, clickhouse, registry, logger })),
})
