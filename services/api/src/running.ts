import type { RunningService } from '@cpi/service'
import type { Api } from './api-service.ts'

/** The API in the shape every service shares: open live streams end first (they would keep the server open). */
export const apiRunning = (api: Api): RunningService => ({
  ready: [],
  drain: [{ name: 'streams', run: async () => api.stop() }],
  message: 'API and dashboard listening',
})
