// The processor as a process of its own (the production shape), scaled out by running more
// of them in one consumer group.
import { runService } from '@cpi/service'
import { startProcessor } from './processor-service.ts'

await runService({
  name: 'processor',
  // Retention of the tables this process writes (the alerter sets its own).
  clickhouse: {
    retention: (config) => ({
      eventsDays: config.retention.eventsDays,
      rejectedDays: config.retention.rejectedDays,
    }),
  },
  start: async ({ config, kafka, clickhouse, registry, logger }) => {
    const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
    return {
      ready: [{ name: 'consumers', check: async () => processor.isHealthy() }],
      drain: [{ name: 'consumers', run: () => processor.stop() }],
      message: 'processor running',
    }
  },
})
