import { createLogger } from '@cpi/logger'
import { type AccessKeys, createAccessKeys, keyEntry } from '@cpi/runtime'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { apiAccess } from './auth.ts'
import type { LiveState } from './live.ts'
import { registerStream } from './stream.ts'

// Only the stream's types come from live.ts: no engine here.
const live = {
  snapshot: async () => ({ cpis: [], alerts: [], freshness: {} }),
  refresh: async () => [],
} as unknown as LiveState

let http: FastifyInstance | undefined
afterEach(async () => {
  await http?.close()
  http = undefined
})

describe('/v1/stream and key rotation', () => {
  it('ends an open stream once its key is rotated out, keeps one whose key stays', async () => {
    const OLD = 'old-read-key-0123456789'
    const KEPT = 'kept-read-key-0123456789'
    let keys: AccessKeys = createAccessKeys([
      keyEntry('old', OLD, ['read']),
      keyEntry('kept', KEPT, ['read']),
    ])
    http = Fastify()
    http.addHook('onRequest', apiAccess({ keys: () => keys, mode: 'production' }))
    const stream = registerStream(http, {
      live,
      intervalMs: 50,
      logger: createLogger({ service: 't', level: 'silent' }),
    })
    http.addHook('preClose', async () => stream.stop())
    const base = await http.listen({ port: 0, host: '127.0.0.1' })

    const open = async (key: string) => {
      const response = await fetch(`${base}/v1/stream`, { headers: { authorization: `Bearer ${key}` } })
      expect(response.status).toBe(200)
      const reader = (response.body as ReadableStream<Uint8Array>).getReader()
      const first = new TextDecoder().decode((await reader.read()).value)
      expect(first).toContain('retry: 2000')
      let ended = false
      const done = (async () => {
        for (;;) if ((await reader.read()).done) break
        ended = true
      })()
      return { ended: () => ended, done, cancel: () => reader.cancel().catch(() => undefined) }
    }
    const old = await open(OLD)
    const kept = await open(KEPT)
    expect(stream.clients()).toBe(2)

    keys = createAccessKeys([keyEntry('kept', KEPT, ['read'])])
    await Promise.race([old.done, new Promise((resolve) => setTimeout(resolve, 3000))])
    expect(old.ended(), 'the rotated-out key’s stream ended').toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(kept.ended()).toBe(false)
    expect(stream.clients()).toBe(1)
    // Reconnecting with the rotated-out key: 401.
    expect((await fetch(`${base}/v1/stream`, { headers: { authorization: `Bearer ${OLD}` } })).status).toBe(
      401,
    )
    await kept.cancel()
  })
})
