import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { createLogger } from '@cpi/logger'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createHttpServer, MAX_PARAM_LENGTH } from './http-server.ts'

const logger = createLogger({ service: 't', level: 'silent' })
let http: FastifyInstance | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy()
  await http?.close()
  http = undefined
})

async function serve(limits: Record<string, number>): Promise<number> {
  http = createHttpServer(logger, { limits })
  http.get('/', async () => ({ ok: true }))
  await http.listen({ port: 0, host: '127.0.0.1' })
  const address = http.server.address()
  if (typeof address !== 'object' || !address) throw new Error('no address')
  return address.port
}

/** A raw TCP client that records what it receives and when the server closes it. */
async function client(port: number) {
  const socket = connect(port, '127.0.0.1')
  sockets.push(socket)
  await once(socket, 'connect')
  const state = { data: '', closedAt: undefined as number | undefined }
  socket.on('data', (chunk) => {
    state.data += chunk.toString()
  })
  socket.on('error', () => undefined)
  socket.on('close', () => {
    state.closedAt = Date.now()
  })
  return { socket, state }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('createHttpServer limits', () => {
  it('cuts off a client that never finishes its headers (slow loris) after the headers timeout', async () => {
    const port = await serve({ headersTimeoutMs: 300, requestTimeoutMs: 600 })
    const { socket, state } = await client(port)
    const started = Date.now()
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n')
    // One more header line every 100 ms, never the blank line that ends them.
    const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 100)
    try {
      await expect.poll(() => state.closedAt, { timeout: 4000, interval: 50 }).toBeDefined()
    } finally {
      clearInterval(drip)
    }
    expect((state.closedAt as number) - started).toBeLessThan(2500)
    expect(state.data).toMatch(/^HTTP\/1\.1 408/)
  })

  it('closes an idle keep-alive connection after the keep-alive timeout', async () => {
    const port = await serve({ keepAliveTimeoutMs: 200 })
    const { socket, state } = await client(port)
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await expect.poll(() => state.data, { timeout: 2000 }).toMatch(/\{"ok":true\}/)
    const answered = Date.now()
    await expect.poll(() => state.closedAt, { timeout: 3000, interval: 20 }).toBeDefined()
    // Node adds a grace of its own (keepAliveTimeoutBuffer, 1 s) to the socket's timeout.
    expect((state.closedAt as number) - answered).toBeLessThan(2500)
  })

  it('refuses connections over the cap, and takes new ones once others closed', async () => {
    const port = await serve({ maxConnections: 2 })
    const first = await client(port)
    const second = await client(port)
    await pause(50)
    const third = await client(port)
    third.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await expect.poll(() => third.state.closedAt, { timeout: 2000, interval: 20 }).toBeDefined()
    expect(third.state.data).toBe('')
    // The two within the cap are served.
    first.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await expect.poll(() => first.state.data, { timeout: 2000 }).toMatch(/\{"ok":true\}/)
    expect(second.state.closedAt).toBeUndefined()

    second.socket.destroy()
    const open = () =>
      new Promise<number>((resolve) => http?.server.getConnections((_error, count) => resolve(count)))
    await expect.poll(open, { timeout: 2000 }).toBeLessThan(2)
    const fourth = await client(port)
    fourth.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await expect.poll(() => fourth.state.data, { timeout: 2000 }).toMatch(/\{"ok":true\}/)
  })
})

describe('createHttpServer path parameters', () => {
  it('hands a route a parameter past fastify’s default 100 characters, up to MAX_PARAM_LENGTH encoded', async () => {
    http = createHttpServer(logger)
    http.get('/things/:id', async (request) => ({ length: (request.params as { id: string }).id.length }))
    // 256 characters of three UTF-8 bytes each: 2304 characters percent-encoded.
    const long = '€'.repeat(256)
    const encoded = encodeURIComponent(long)
    expect(encoded.length).toBeLessThanOrEqual(MAX_PARAM_LENGTH)
    const answer = await http.inject({ method: 'GET', url: `/things/${encoded}` })
    expect(answer.statusCode).toBe(200)
    expect(answer.json()).toEqual({ length: 256 })
    const plain = await http.inject({ method: 'GET', url: `/things/${'a'.repeat(257)}` })
    expect(plain.json()).toEqual({ length: 257 })
    // Past the cap the router still answers 414 on its own.
    const past = await http.inject({ method: 'GET', url: `/things/${'a'.repeat(MAX_PARAM_LENGTH + 1)}` })
    expect(past.statusCode).toBe(414)
  })
})
