import type { Logger } from '@cpi/logger'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { type ReadinessCheck, registerHealthRoutes } from './health.ts'
import { applyHttpLimits, type HttpLimits } from './http-server.ts'
import { registerMetricsRoute } from './metrics.ts'
import { createShutdown, type ShutdownStep } from './shutdown.ts'

/**
 * The tail of every service's main: `/healthz`, `/readyz` (the given checks), `/metrics`, an
 * ordered shutdown on SIGINT/SIGTERM, and the HTTP server listening. Returns its address.
 */
export async function serveProcess(options: {
  logger: Logger
  http: FastifyInstance
  registry: Registry
  settings: {
    shutdownTimeoutMs: number
    readyCheckTimeoutMs: number
    http: { port: number; host: string }
    /** The configured timeouts and connection cap, set on the server before it listens. */
    httpLimits?: HttpLimits
  }
  checks: readonly ReadinessCheck[]
  /** In order; stop taking work first, close shared clients last. */
  steps: readonly ShutdownStep[]
  message: string
}): Promise<string> {
  const { logger, http, settings } = options
  const lifecycle = createShutdown({
    logger,
    timeoutMs: settings.shutdownTimeoutMs,
    steps: () => options.steps,
  })
  registerHealthRoutes(http, {
    timeoutMs: settings.readyCheckTimeoutMs,
    isShuttingDown: lifecycle.isShuttingDown,
    checks: options.checks,
  })
  registerMetricsRoute(http, options.registry)
  lifecycle.installSignalHandlers()
  if (settings.httpLimits) applyHttpLimits(http.server, settings.httpLimits)
  const address = await http.listen({ port: settings.http.port, host: settings.http.host })
  logger.info({ address }, options.message)
  return address
}
