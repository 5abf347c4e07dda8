import type { Server } from 'node:http'
import type { Logger } from '@cpi/logger'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify'

/** Timeouts and the connection cap of a server (CPI_HTTP_*; docs/configuration.md). */
export interface HttpLimits {
  /** Longest time a client may take to send a whole request; 408 past it. */
  requestTimeoutMs: number
  /** Longest time a client may take to send its headers (slow loris); 408 past it. */
  headersTimeoutMs: number
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number
  /** Open connections at most; one more is closed at once. */
  maxConnections: number
}

/** The configuration's defaults (packages/config), for servers created without a configuration. */
export const defaultHttpLimits: HttpLimits = {
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5000,
  maxConnections: 1000,
}

/**
 * Node checks the request and headers timeouts on a timer of this period (30 s by default,
 * which would let a slow client hold its connection up to 30 s past its timeout).
 */
const CHECK_INTERVAL_MS = 500

/**
 * The longest path parameter the router takes, as it stands in the URL (percent-encoded): past
 * it fastify answers 414 on its own, before any route sees it. Fastify's default (100) is below
 * what a route may take: a customer id of 256 UTF-16 units is at most 256 × 9 characters encoded
 * (a unit of three UTF-8 bytes, %XX each), so any id a route could accept reaches it and the
 * route's own validation answers.
 */
export const MAX_PARAM_LENGTH = 256 * 9

/**
 * The HTTP server every process uses: our pino logger, no per-request log lines (errors are
 * still logged), a request body limit the routes can lower or raise, and the limits that keep
 * a client from holding connections: request, headers and keep-alive timeouts, a connection cap.
 */
export function createHttpServer(
  logger: Logger,
  options: { bodyLimitBytes?: number; limits?: Partial<HttpLimits> } = {},
): FastifyInstance {
  const limits = { ...defaultHttpLimits, ...options.limits }
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes ?? 1_048_576,
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(CHECK_INTERVAL_MS, limits.headersTimeoutMs),
    },
  })
  applyHttpLimits(app.server, limits)
  warnOnDroppedConnections(app.server, logger)
  return app
}

/** Sets the limits on a server (again, for a process whose configuration came after it was made). */
export function applyHttpLimits(server: Server, limits: HttpLimits): void {
  server.requestTimeout = limits.requestTimeoutMs
  server.headersTimeout = limits.headersTimeoutMs
  server.keepAliveTimeout = limits.keepAliveTimeoutMs
  server.maxConnections = limits.maxConnections
}

/** One warning a minute at most while connections over the cap are being closed. */
function warnOnDroppedConnections(server: Server, logger: Logger): void {
  let dropped = 0
  let warnedAt = 0
  server.on('drop', () => {
    dropped++
    if (Date.now() - warnedAt < 60_000) return
    warnedAt = Date.now()
    logger.warn(
      { dropped, maxConnections: server.maxConnections },
      'connection refused: the server holds its maximum of connections (CPI_HTTP_MAX_CONNECTIONS)',
    )
    dropped = 0
  })
}
