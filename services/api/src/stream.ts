import type { ServerResponse } from 'node:http'
import type { Logger } from '@cpi/logger'
import type { FastifyInstance } from 'fastify'
import { z } from 'zod'
import type { LiveState, Snapshot, StreamEvent } from './live.ts'
import { parameter } from './params.ts'
import { defineRoute, serve } from './route.ts'
import { Problem } from './schemas.ts'

const HEARTBEAT_MS = 15_000

/** One Server-Sent Event, serialized once whatever the number of clients it goes to. */
const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`

/** What `GET /v1/stream` takes and answers (its answer is written to the socket, past fastify). */
const streamDeclaration = {
  method: 'GET',
  url: '/v1/stream',
  operationId: 'stream',
  summary:
    'Server-Sent Events: `snapshot` ({cpis, alerts, freshness}) first, then `cpi` (a CpiSummary that changed), `alert` (an Alert that changed) and `freshness`, checked every CPI_STREAM_INTERVAL_MS.',
  query: z.object({
    access_token: parameter(z.string(), { expected: 'a key' }).describe(
      'The key, for clients that cannot send an Authorization header (EventSource); this route only.',
    ),
  }),
  responses: {
    200: { description: 'An event stream.', type: 'text/event-stream', schema: z.string() },
    // Its one parameter is never refused.
    400: null,
    503: {
      description:
        'CPI_STREAM_MAX_CLIENTS streams are open already (`too_many_streams`, with Retry-After), or the server is shutting down.',
      schema: Problem,
    },
  },
} as const

/**
 * `GET /v1/stream`: Server-Sent Events. A new client gets a `snapshot`, then `cpi`, `alert` and
 * `freshness` events as the shared refresh (every `intervalMs`) finds changes. The refresh runs
 * only while someone listens; one slow read never overlaps the next. A stream whose key is
 * rotated out, expires or loses the scope `read` ends at the next tick (the client's reconnect
 * then gets 401 or 403).
 *
 * Bounded: at most `maxClients` streams (503 past it); the snapshot is read and serialized once
 * for every client that connects within an interval, each change once for all; a client with
 * more than `maxBufferBytes` unsent (it reads slower than the stream changes) is ended rather
 * than buffered for, and its EventSource reconnects to a fresh snapshot.
 */
export function registerStream(
  http: FastifyInstance,
  options: {
    live: LiveState
    intervalMs: number
    logger: Logger
    maxClients?: number
    maxBufferBytes?: number
  },
): { stop(): void; clients(): number } {
  const maxClients = options.maxClients ?? 100
  const snapshots = sharedSnapshot(options.live, options.intervalMs)
  const clients = streamClients({
    ...options,
    snapshots,
    maxBufferBytes: options.maxBufferBytes ?? 1024 * 1024,
  })
  let stopped = false
  /** Streams admitted and waiting for their snapshot: they count against the cap too. */
  let connecting = 0

  const shuttingDown = { error: 'shutting_down', message: 'the server is shutting down' }
  serve(
    http,
    defineRoute({
      ...streamDeclaration,
      handler: async (_input, request, reply) => {
        if (stopped) return reply.code(503).send(shuttingDown)
        if (clients.size() + connecting >= maxClients)
          return reply
            .code(503)
            .header('retry-after', '5')
            .send({
              error: 'too_many_streams',
              message: `expected at most ${maxClients} open streams (CPI_STREAM_MAX_CLIENTS), got one more; retry later`,
            })
        connecting++
        let snapshot: string
        try {
          snapshot = await snapshots.text()
        } finally {
          connecting--
        }
        if (stopped) return reply.code(503).send(shuttingDown)
        reply.hijack()
        const response = reply.raw
        // The client may have left while the snapshot was read: nothing to stream to.
        if (request.raw.socket.destroyed) return
        response.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        })
        response.write('retry: 2000\n\n')
        response.write(snapshot)
        clients.add(response, request.accessStillValid ?? (() => true))
        request.raw.on('close', () => clients.remove(response))
      },
    }),
  )

  return {
    clients: clients.size,
    /** Ends every stream (the server cannot close while they are open). */
    stop() {
      stopped = true
      clients.endAll()
    },
  }
}

/**
 * The open streams, each with whether its access still holds, and the timers that feed them
 * while there is one: the shared refresh every `intervalMs` (which also ends the streams whose
 * access no longer holds) and the heartbeat.
 */
function streamClients(options: {
  live: LiveState
  intervalMs: number
  logger: Logger
  maxBufferBytes: number
  snapshots: ReturnType<typeof sharedSnapshot>
}) {
  const { maxBufferBytes } = options
  const clients = new Map<ServerResponse, () => boolean>()
  let timer: NodeJS.Timeout | undefined
  let heartbeat: NodeJS.Timeout | undefined
  let running = false

  /** Writes to every client; one that cannot keep up is ended instead of buffered for. */
  const broadcast = (text: string) => {
    for (const client of [...clients.keys()]) {
      if (client.writableLength <= maxBufferBytes) {
        client.write(text)
        continue
      }
      options.logger.info(
        { unsentBytes: client.writableLength, maxBufferBytes },
        'live stream client too slow; stream ended (it reconnects to a fresh snapshot)',
      )
      clients.delete(client)
      // Not end(): that would keep what is buffered until the client reads it.
      client.destroy()
    }
    if (clients.size === 0) stopTimers()
  }

  /** One shared refresh, its changes sent to every client; never two at once. */
  async function tick() {
    if (running || clients.size === 0) return
    running = true
    try {
      const changes: StreamEvent[] = await options.live.refresh()
      options.snapshots.refreshed()
      for (const change of changes) broadcast(frame(change.event, change.data))
    } catch (error) {
      options.logger.warn({ err: error }, 'live refresh failed; retrying at the next tick')
    } finally {
      running = false
    }
  }

  /** Ends the streams whose access no longer holds. */
  const endRevoked = () => {
    for (const [client, stillValid] of clients) {
      if (stillValid()) continue
      clients.delete(client)
      client.end()
    }
    if (clients.size === 0) stopTimers()
  }
  /** Starts the refresh and the heartbeat, unless they run. */
  const ensureTimers = () => {
    timer ??= setInterval(() => {
      endRevoked()
      void tick()
    }, options.intervalMs)
    heartbeat ??= setInterval(() => broadcast(': keep-alive\n\n'), HEARTBEAT_MS)
  }
  /** Stops both timers (nobody listens). */
  const stopTimers = () => {
    clearInterval(timer)
    clearInterval(heartbeat)
    timer = undefined
    heartbeat = undefined
  }

  return {
    size: () => clients.size,
    /** A stream that got its snapshot: it now gets the changes. */
    add(client: ServerResponse, stillValid: () => boolean) {
      clients.set(client, stillValid)
      ensureTimers()
    },
    /** A stream the client closed. */
    remove(client: ServerResponse) {
      clients.delete(client)
      if (clients.size === 0) stopTimers()
    },
    /** Stops the timers and ends every stream. */
    endAll() {
      stopTimers()
      for (const client of clients.keys()) client.end()
      clients.clear()
    },
  }
}

/**
 * The `snapshot` event new clients get, read and serialized once per interval: clients that
 * connect together share one read, and while streams run it is the refresh's own snapshot (so
 * the changes that follow are relative to what the client got).
 */
function sharedSnapshot(live: LiveState, intervalMs: number) {
  let current: { at: number; snapshot: Snapshot; text?: string } | undefined
  let reading: Promise<void> | undefined
  return {
    /** The refresh took a new snapshot: new clients get that one. */
    refreshed() {
      const latest = live.latest?.()
      if (latest && latest !== current?.snapshot) current = { at: Date.now(), snapshot: latest }
    },
    async text(): Promise<string> {
      // The first snapshot comes from a fresh read, so a new client never waits a whole interval.
      if (!current || Date.now() - current.at >= intervalMs) {
        reading ??= live
          .snapshot()
          .then((snapshot) => {
            current = { at: Date.now(), snapshot }
          })
          .finally(() => {
            reading = undefined
          })
        await reading
      }
      const shared = current as { snapshot: Snapshot; text?: string }
      const { cpis, alerts, freshness } = shared.snapshot
      shared.text ??= frame('snapshot', { cpis, alerts, freshness })
      return shared.text
    },
  }
}
