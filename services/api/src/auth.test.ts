import { createKeyring } from '@cpi/runtime'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { readAccess } from './auth.ts'

const TOKEN = 'read-token-1'
const OTHER = 'read-token-2'

let http: FastifyInstance | undefined
afterEach(async () => {
  await http?.close()
  http = undefined
})

async function server(options: Parameters<typeof readAccess>[0]) {
  http = Fastify()
  http.addHook('onRequest', readAccess(options))
  http.get('/v1/cpis', async () => ({ cpis: [] }))
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
      message: expect.stringMatching(/open only to localhost without CPI_READ_TOKENS/),
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
    expect(local.json().message).toMatch(/no read tokens are configured/)
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
    expect(response.json().message).toBe('the token is not one of CPI_READ_TOKENS')
    const wrongQuery = await api.inject({ method: 'GET', url: '/v1/cpis?access_token=nope' })
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

  it('accepts the token as access_token in the query (EventSource)', async () => {
    const api = await server({ keyring, mode: 'production' })
    const response = await api.inject({
      method: 'GET',
      url: `/v1/cpis?access_token=${TOKEN}`,
      remoteAddress: REMOTE,
    })
    expect(response.statusCode).toBe(200)
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
