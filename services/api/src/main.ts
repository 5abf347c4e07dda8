// The query API and live dashboard as a process of their own (the production shape). Stateless:
// run as many as needed behind a load balancer.
import { runService } from '@cpi/service'
import { startApi } from './api-service.ts'
import { apiRunning } from './running.ts'

await runService({
  name: 'api',
  // Reads only: no retention of its own; reads go on while Kafka is away (only the lag needs it).
  clickhouse: { retention: () => ({}) },
  kafkaReadiness: false,
  start: async ({ config, clickhouse, http, logger, kafka }) =>
    apiRunning(await startApi({ config, clickhouse, http, logger, kafka })),
})
