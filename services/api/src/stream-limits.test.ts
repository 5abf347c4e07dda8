import { once } from 'node:events'
import { connect } from 'node:net'
import { createLogger } from '@cpi/logger'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import type { LiveState, StreamEvent } from './live.ts'
import { registerStream } from './stream.ts'

const logger = createLogger({ service: 't', level: 'silent' })
let http: FastifyInstance | undefined
const cleanups: (() => unknown)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup()
  await http?.close()
  http = undefined
})

/** A value that counts how often it is serialized. */
const counted = (value: Record<string, unknown>) => {
  const counter = { count: 0 }
  const toJSON = () => {
    counter.count++
    return value
  }
  return { counter, value: { toJSON } }
}

async function serve(
  live: Partial<LiveState>,
  limits: { maxClients?: number; maxBufferBytes?: number } = {},
  intervalMs = 50,
) {
  http = Fastify()
  const stream = registerStream(http, { live: live as LiveState, intervalMs, logger, ...limits })
  http.addHook('preClose', async () => stream.stop())
  const base = await http.listen({ port: 0, host: '127.0.0.1' })
  return { stream, base }
}

/** Opens a stream and reads it to its end: the first 64 KiB as text, and how many bytes came. */
async function open(base: string) {
  const controller = new AbortController()
  const response = await fetch(`${base}/v1/stream`, { signal: controller.signal })
  let text = ''
  let bytes = 0
  const reading =
    response.status === 200
      ? (async () => {
          const reader = (response.body as ReadableStream<Uint8Array>).getReader()
          const decoder = new TextDecoder()
          for (;;) {
            const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }))
            if (done || !value) return
            bytes += value.byteLength
            if (text.length < 65_536) text += decoder.decode(value, { stream: true })
          }
        })()
      : response.text().then((body) => {
          text = body
        })
  const close = async () => {
    controller.abort()
    await reading.catch(() => undefined)
  }
  cleanups.push(close)
  return { response, text: () => text, bytes: () => bytes, close }
}

describe('/v1/stream limits', () => {
  it('answers 503 with Retry-After over the client cap, and takes a client again once one left', async () => {
    const live = { snapshot: async () => ({ cpis: [], alerts: [], freshness: {} }), refresh: async () => [] }
    const { stream, base } = await serve(live as never, { maxClients: 2 })
    const first = await open(base)
    await open(base)
    expect(stream.clients()).toBe(2)
    const third = await open(base)
    expect(third.response.status).toBe(503)
    expect(third.response.headers.get('retry-after')).toMatch(/^\d+$/)
    await expect.poll(() => third.text()).not.toBe('')
    expect(JSON.parse(third.text())).toMatchObject({
      error: 'too_many_streams',
    })
    expect(stream.clients()).toBe(2)
    await first.close()
    await expect.poll(() => stream.clients(), { timeout: 2000 }).toBe(1)
    expect((await open(base)).response.status).toBe(200)
  })

  it('counts streams still waiting for their snapshot against the cap: of 5 at once, 2 are served', async () => {
    const live = {
      snapshot: async () => {
        await new Promise((resolve) => setTimeout(resolve, 100))
        return { cpis: [], alerts: [], freshness: {} }
      },
      refresh: async () => [],
    }
    const { stream, base } = await serve(live as never, { maxClients: 2 })
    const statuses = (await Promise.all([1, 2, 3, 4, 5].map(() => open(base)))).map(
      (client) => client.response.status,
    )
    expect(statuses.sort()).toEqual([200, 200, 503, 503, 503])
    expect(stream.clients()).toBe(2)
  })

  it('reads and serializes one snapshot for clients that connect together, and each change once for all', async () => {
    const snapshot = counted({ consumerLag: 0 })
    const change = counted({ name: 'fast_quote' })
    let snapshots = 0
    let refreshes = 0
    const live = {
      snapshot: async () => {
        snapshots++
        await new Promise((resolve) => setTimeout(resolve, 100))
        return { cpis: [], alerts: [], freshness: snapshot.value }
      },
      refresh: async (): Promise<StreamEvent[]> =>
        refreshes++ === 0 ? [{ event: 'cpi', data: change.value as never }] : [],
    }
    const { base } = await serve(live as never, {}, 200)
    const clients = await Promise.all([1, 2, 3, 4, 5].map(() => open(base)))
    for (const client of clients) expect(client.response.status).toBe(200)
    for (const client of clients)
      await expect.poll(() => client.text(), { timeout: 3000 }).toContain('event: cpi')
    expect(snapshots).toBe(1)
    expect(snapshot.counter.count).toBe(1)
    expect(change.counter.count).toBe(1)
    expect(new Set(clients.map((client) => client.text())).size).toBe(1)
  })

  it('drops a client that stops reading once its buffer passes the bound, and keeps serving the others', async () => {
    const big = 'x'.repeat(256 * 1024)
    const live = {
      snapshot: async () => ({ cpis: [], alerts: [], freshness: {} }),
      refresh: async (): Promise<StreamEvent[]> => [{ event: 'freshness', data: { big } as never }],
    }
    const { stream, base } = await serve(live as never, { maxBufferBytes: 1024 * 1024 }, 50)
    const reader = await open(base)
    // A client that sends its request and never reads a byte of the answer.
    const port = Number(new URL(base).port)
    const stalled = connect(port, '127.0.0.1')
    cleanups.push(() => stalled.destroy())
    await once(stalled, 'connect')
    stalled.on('error', () => undefined)
    stalled.write('GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n')
    stalled.pause()
    await expect.poll(() => stream.clients(), { timeout: 3000 }).toBe(2)
    await expect.poll(() => stream.clients(), { timeout: 20_000, interval: 50 }).toBe(1)
    // The client that reads is still served.
    const before = reader.bytes()
    await expect.poll(() => reader.bytes(), { timeout: 3000 }).toBeGreaterThan(before)
  })
})
