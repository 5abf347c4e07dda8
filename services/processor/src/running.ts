import type { RunningService } from '@cpi/service'
import type { Processor } from './processor-service.ts'

/** The processor in the shape every service shares: ready while both consumers are healthy; they stop first. */
export const processorRunning = (processor: Processor): RunningService => ({
  ready: [{ name: 'consumers', check: async () => processor.isHealthy() }],
  drain: [{ name: 'consumers', run: () => processor.stop() }],
  message: 'processor running',
})
