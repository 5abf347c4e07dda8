import type { ServerResponse } from 'node:http'
import type { Logger } from '@cpi/logger'
import type { FastifyInstance } from 'fastify'
import type { LiveState, StreamEvent } from './live.ts'

const HEARTBEAT_MS = 15_000

/**
 * `GET /v1/stream`: Server-Sent Events. A new client gets a `snapshot`, then `cpi`, `alert` and
 * `freshness` events as the shared refresh (every `intervalMs`) finds changes. The refresh runs
 * only while someone listens; one slow read never overlaps the next. A stream whose key is
 * rotated out, expires or loses the scope `read` ends at the next tick (the client's reconnect
 * then gets 401 or 403).
 */
export function registerStream(
  http: FastifyInstance,
  options: { live: LiveState; intervalMs: number; logger: Logger },
): { stop(): void; clients(): number } {
  /** Each open stream, with whether its access still holds. */
  const clients = new Map<ServerResponse, () => boolean>()
  let timer: NodeJS.Timeout | undefined
  let heartbeat: NodeJS.Timeout | undefined
  let running = false
  let stopped = false

  const write = (response: ServerResponse, event: string, data: unknown) => {
    response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }

  async function tick() {
    if (running || clients.size === 0) return
    running = true
    try {
      const changes: StreamEvent[] = await options.live.refresh()
      for (const change of changes)
        for (const client of clients.keys()) write(client, change.event, change.data)
    } catch (error) {
      options.logger.warn({ err: error }, 'live refresh failed; retrying at the next tick')
    } finally {
      running = false
    }
  }

  const endRevoked = () => {
    for (const [client, stillValid] of clients) {
      if (stillValid()) continue
      clients.delete(client)
      client.end()
    }
    if (clients.size === 0) stopTimers()
  }
  const ensureTimers = () => {
    timer ??= setInterval(() => {
      endRevoked()
      void tick()
    }, options.intervalMs)
    heartbeat ??= setInterval(() => {
      for (const client of clients.keys()) client.write(': keep-alive\n\n')
    }, HEARTBEAT_MS)
  }
  const stopTimers = () => {
    clearInterval(timer)
    clearInterval(heartbeat)
    timer = undefined
    heartbeat = undefined
  }

  http.get('/v1/stream', async (request, reply) => {
    if (stopped)
      return reply.code(503).send({ error: 'shutting_down', message: 'the server is shutting down' })
    // The first snapshot comes from a fresh read, so a new client never waits a whole interval.
    const snapshot = await options.live.snapshot()
    reply.hijack()
    const response = reply.raw
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    response.write('retry: 2000\n\n')
    write(response, 'snapshot', {
      cpis: snapshot.cpis,
      alerts: snapshot.alerts,
      freshness: snapshot.freshness,
    })
    clients.set(response, request.accessStillValid ?? (() => true))
    ensureTimers()
    request.raw.on('close', () => {
      clients.delete(response)
      if (clients.size === 0) stopTimers()
    })
  })

  return {
    clients: () => clients.size,
    /** Ends every stream (the server cannot close while they are open). */
    stop() {
      stopped = true
      stopTimers()
      for (const client of clients.keys()) client.end()
      clients.clear()
    },
  }
}
