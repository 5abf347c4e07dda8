import { createAccessKeys, environmentKeyEntries, keyEntry } from '@cpi/runtime'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { apiAccess } from './auth.ts'

const TOKEN = 'read-token-1'
const OTHER = 'read-token-2'

let http: FastifyInstance | undefined
afterEach(async () => {
  await http?.close()
  http = undefined
})

/** The former option shape: a keyring of read tokens, or none. */
type Access = { keyring: ReturnType<typeof createAccessKeys> | undefined; mode: 'local' | 'production' }
const createKeyring = (tokens: string[]) => createAccessKeys(environmentKeyEntries({ readTokens: tokens }))

async function server(options: Access) {
  http = Fastify()
  const keys = options.keyring ?? createAccessKeys([])
  http.addHook('onRequest', apiAccess({ keys: () => keys, mode: options.mode }))
  http.get('/v1/cpis', async () => ({ cpis: [] }))
  http.get('/v1/stream', async () => 'stream')
  http.post('/v1/silences', async (_request, reply) => reply.code(201).send({ id: 's1' }))
  http.delete('/v1/silences/:id', async (_request, reply) => reply.code(204).send())
  http.post('/v1/events', async () => ({ accepted: 0 }))
  http.get('/health/live', async () => ({ status: 'ok' }))
  http.get('/', async () => 'dashboard')
  await http.ready()
  return http
}

const REMOTE = '10.0.0.5'

describe('readAccess without tokens', () => {
  it('in local mode opens /v1 to the loopback interface only', async () => {
    const api = await server({ keyring: undefined, mode: 'local' })
    const local = await api.inject({ method: 'GET', url: '/v1/cpis' })
    expect(local.statusCode).toBe(200)
    expect(local.json()).toEqual({ cpis: [] })

    const remote = await api.inject({ method: 'GET', url: '/v1/cpis', remoteAddress: REMOTE })
    expect(remote.statusCode).toBe(401)
    expect(remote.json()).toEqual({
      error: 'unauthorized',
      message: expect.stringMatching(
        /open only to localhost without read keys \(CPI_READ_TOKENS or CPI_KEYS_FILE\)/,
      ),
    })
  })

  it('accepts IPv6 loopback forms in local mode', async () => {
    const api = await server({ keyring: undefined, mode: 'local' })
    for (const remoteAddress of ['::1', '::ffff:127.0.0.1'])
      expect((await api.inject({ method: 'GET', url: '/v1/cpis', remoteAddress })).statusCode).toBe(200)
  })

  it('in production mode closes /v1 even to the loopback interface', async () => {
    const api = await server({ keyring: undefined, mode: 'production' })
    const local = await api.inject({ method: 'GET', url: '/v1/cpis' })
    expect(local.statusCode).toBe(401)
    expect(local.json().message).toMatch(/no read keys are configured \(CPI_READ_TOKENS or CPI_KEYS_FILE\)/)
    expect((await api.inject({ method: 'GET', url: '/v1/cpis', remoteAddress: REMOTE })).statusCode).toBe(401)
  })

  it('leaves paths outside /v1 open', async () => {
    const api = await server({ keyring: undefined, mode: 'production' })
    expect((await api.inject({ method: 'GET', url: '/health/live', remoteAddress: REMOTE })).statusCode).toBe(
      200,
    )
    const dashboard = await api.inject({ method: 'GET', url: '/', remoteAddress: REMOTE })
    expect(dashboard.statusCode).toBe(200)
    expect(dashboard.body).toBe('dashboard')
  })
})

describe('readAccess with tokens', () => {
  const keyring = createKeyring([TOKEN, OTHER])

  for (const mode of ['local', 'production'] as const) {
    it(`in ${mode} mode asks for a token when none comes, even from the loopback interface`, async () => {
      const api = await server({ keyring, mode })
      const response = await api.inject({ method: 'GET', url: '/v1/cpis' })
      expect(response.statusCode).toBe(401)
      expect(response.headers['www-authenticate']).toBe('Bearer realm="cpi"')
      expect(response.json()).toEqual({
        error: 'unauthorized',
        message: 'expected an Authorization: Bearer <read token> header',
      })
    })
  }

  it('refuses a wrong token as invalid', async () => {
    const api = await server({ keyring, mode: 'production' })
    const response = await api.inject({
      method: 'GET',
      url: '/v1/cpis',
      headers: { authorization: 'Bearer read-token-3' },
    })
    expect(response.statusCode).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Bearer realm="cpi", error="invalid_token"')
    expect(response.json().message).toBe(
      'the token is not a key of this API (unknown, rotated out or expired)',
    )
    const wrongQuery = await api.inject({ method: 'GET', url: '/v1/stream?access_token=nope' })
    expect(wrongQuery.statusCode).toBe(401)
    expect(wrongQuery.headers['www-authenticate']).toMatch(/invalid_token/)
  })

  it('accepts every configured token as a Bearer header, from any host', async () => {
    const api = await server({ keyring, mode: 'production' })
    for (const token of [TOKEN, OTHER]) {
      const response = await api.inject({
        method: 'GET',
        url: '/v1/cpis',
        remoteAddress: REMOTE,
        headers: { authorization: `Bearer ${token}` },
      })
      expect(response.statusCode, token).toBe(200)
      expect(response.json()).toEqual({ cpis: [] })
    }
  })

  it('accepts the token as access_token in the query for the live stream only (EventSource)', async () => {
    const api = await server({ keyring, mode: 'production' })
    const stream = await api.inject({
      method: 'GET',
      url: `/v1/stream?access_token=${TOKEN}`,
      remoteAddress: REMOTE,
    })
    expect(stream.statusCode).toBe(200)
    // Anywhere else a key in the URL (logs, history, Referer) is not taken.
    const elsewhere = await api.inject({
      method: 'GET',
      url: `/v1/cpis?access_token=${TOKEN}`,
      remoteAddress: REMOTE,
    })
    expect(elsewhere.statusCode).toBe(401)
    // The scheme's name is case-insensitive (RFC 7235).
    const lower = await api.inject({
      method: 'GET',
      url: '/v1/cpis',
      remoteAddress: REMOTE,
      headers: { authorization: `bearer ${TOKEN}` },
    })
    expect(lower.statusCode).toBe(200)
  })

  it('does not take a token from another authorization scheme', async () => {
    const api = await server({ keyring, mode: 'production' })
    const response = await api.inject({
      method: 'GET',
      url: '/v1/cpis',
      headers: { authorization: `Basic ${TOKEN}` },
    })
    expect(response.statusCode).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Bearer realm="cpi"')
  })

  it('leaves paths outside /v1 open', async () => {
    const api = await server({ keyring, mode: 'production' })
    expect((await api.inject({ method: 'GET', url: '/health/live', remoteAddress: REMOTE })).statusCode).toBe(
      200,
    )
  })
})

describe('apiAccess scopes', () => {
  const READ = 'read-key-0123456789'
  const ADMIN = 'admin-key-0123456789'
  const INGEST = 'ingest-key-0123456789'
  const EXPIRED = 'expired-key-0123456789'
  const keys = createAccessKeys([
    keyEntry('reader', READ, ['read']),
    keyEntry('ops', ADMIN, ['read', 'admin']),
    keyEntry('admin-only', `${ADMIN}-x`, ['admin']),
    keyEntry('CPI_INGEST_KEYS#1', INGEST, ['ingest']),
    keyEntry('old', EXPIRED, ['read', 'admin'], Date.parse('2020-01-01T00:00:00Z')),
  ])
  const api = async () => {
    http = Fastify()
    http.addHook('onRequest', apiAccess({ keys: () => keys, mode: 'production' }))
    http.get('/v1/cpis', async () => ({ cpis: [] }))
    http.post('/v1/silences', async (_request, reply) => reply.code(201).send({ id: 's1' }))
    http.delete('/v1/silences/:id', async (_request, reply) => reply.code(204).send())
    await http.ready()
    return http
  }
  const as = (key: string) => ({ authorization: `Bearer ${key}` })

  it('answers 403 naming the scope to a valid key without it', async () => {
    const app = await api()
    const post = await app.inject({ method: 'POST', url: '/v1/silences', headers: as(READ), payload: {} })
    expect(post.statusCode).toBe(403)
    expect(post.json()).toEqual({ error: 'forbidden', message: 'this key lacks the scope admin' })
    expect(post.headers['www-authenticate']).toBe(
      'Bearer realm="cpi", error="insufficient_scope", scope="admin"',
    )
    const remove = await app.inject({ method: 'DELETE', url: '/v1/silences/s1', headers: as(READ) })
    expect(remove.statusCode).toBe(403)
    const ingestKeyReading = await app.inject({ method: 'GET', url: '/v1/cpis', headers: as(INGEST) })
    expect(ingestKeyReading.statusCode).toBe(403)
    expect(ingestKeyReading.json().message).toBe('this key lacks the scope read')
    // Scopes do not imply each other: an admin-only key does not read.
    expect((await app.inject({ method: 'GET', url: '/v1/cpis', headers: as(`${ADMIN}-x`) })).statusCode).toBe(
      403,
    )
  })

  it('lets read keys read and admin keys change silences', async () => {
    const app = await api()
    expect((await app.inject({ method: 'GET', url: '/v1/cpis', headers: as(READ) })).statusCode).toBe(200)
    expect(
      (await app.inject({ method: 'POST', url: '/v1/silences', headers: as(ADMIN), payload: {} })).statusCode,
    ).toBe(201)
    expect(
      (await app.inject({ method: 'DELETE', url: '/v1/silences/s1', headers: as(`${ADMIN}-x`) })).statusCode,
    ).toBe(204)
    // A change never takes its key from the URL.
    expect(
      (await app.inject({ method: 'POST', url: `/v1/silences?access_token=${ADMIN}`, payload: {} }))
        .statusCode,
    ).toBe(401)
  })

  it('refuses an expired key with 401, like an unknown one', async () => {
    const app = await api()
    const response = await app.inject({ method: 'GET', url: '/v1/cpis', headers: as(EXPIRED) })
    expect(response.statusCode).toBe(401)
    expect(response.headers['www-authenticate']).toBe('Bearer realm="cpi", error="invalid_token"')
  })

  it('leaves POST /v1/events to the ingest gateway', async () => {
    http = Fastify()
    http.addHook('onRequest', apiAccess({ keys: () => keys, mode: 'production' }))
    http.post('/v1/events', async () => ({ accepted: 0 }))
    await http.ready()
    const response = await http.inject({ method: 'POST', url: '/v1/events', headers: as(INGEST) })
    expect(response.statusCode).toBe(200)
  })

  it('in local mode with only ingest keys keeps the API open to loopback, changes included', async () => {
    http = Fastify()
    const ingestOnly = createAccessKeys([keyEntry('CPI_INGEST_KEYS#1', INGEST, ['ingest'])])
    http.addHook('onRequest', apiAccess({ keys: () => ingestOnly, mode: 'local' }))
    http.post('/v1/silences', async (_request, reply) => reply.code(201).send({ id: 's1' }))
    await http.ready()
    expect((await http.inject({ method: 'POST', url: '/v1/silences', payload: {} })).statusCode).toBe(201)
    expect(
      (await http.inject({ method: 'POST', url: '/v1/silences', payload: {}, remoteAddress: REMOTE }))
        .statusCode,
    ).toBe(401)
  })
})

describe('apiAccess and encoded paths', () => {
  it('guards a route reached through percent-escapes in its path (/%761/cpis is /v1/cpis)', async () => {
    const api = await server({ keyring: createKeyring([TOKEN]), mode: 'production' })
    for (const url of ['/%761/cpis', '/v1/cp%69s', '/x/../v1/cpis']) {
      const response = await api.inject({ method: 'GET', url, remoteAddress: REMOTE })
      expect(response.statusCode, url).toBe(401)
    }
    const post = await api.inject({
      method: 'POST',
      url: '/%761/silences',
      payload: {},
      remoteAddress: REMOTE,
    })
    expect(post.statusCode).toBe(401)
    const allowed = await api.inject({
      method: 'GET',
      url: '/%761/cpis',
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(allowed.statusCode).toBe(200)
  })
})
