export {
  type RunningService,
  runService,
  type ServiceContext,
  type ServiceDefinition,
} from './run-service.ts'
export { recordStatementMetrics } from './statement-metrics.ts'
