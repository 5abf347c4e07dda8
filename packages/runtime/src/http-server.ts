import type { Logger } from '@cpi/logger'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'

/**
 * The HTTP server every process uses: our pino logger, no per-request log lines (errors are
 * still logged), and a request body limit the routes can lower or raise.
 */
export function createHttpServer(logger: Logger, options: { bodyLimitBytes?: number } = {}): FastifyInstance {
  return Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 1_048_576,
    return503OnClosing: true,
  })
}
