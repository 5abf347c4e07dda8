import type { Keyring } from '@cpi/runtime'
import type { FastifyReply, FastifyRequest } from 'fastify'

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])

/**
 * Read access to `/v1/*`: a Bearer token from CPI_READ_TOKENS (or `access_token` in the query
 * string, for EventSource, which cannot send headers). Without tokens, local mode is open to
 * the loopback interface only and production mode is closed.
 */
export function readAccess(options: { keyring: Keyring | undefined; mode: 'local' | 'production' }) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!request.url.startsWith('/v1/')) return
    if (!options.keyring) {
      if (options.mode === 'local' && LOOPBACK.has(request.socket.remoteAddress ?? '')) return
      return reply.code(401).send({
        error: 'unauthorized',
        message:
          options.mode === 'local'
            ? 'the API is open only to localhost without CPI_READ_TOKENS; configure tokens to reach it from elsewhere'
            : 'no read tokens are configured (CPI_READ_TOKENS); the API is closed',
      })
    }
    const header = request.headers.authorization
    const fromQuery = (request.query as Record<string, unknown> | undefined)?.access_token
    const token = header?.startsWith('Bearer ')
      ? header.slice(7).trim()
      : typeof fromQuery === 'string'
        ? fromQuery
        : ''
    if (token === '')
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="cpi"')
        .send({ error: 'unauthorized', message: 'expected an Authorization: Bearer <read token> header' })
    if (!options.keyring.verify(token).ok)
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="cpi", error="invalid_token"')
        .send({ error: 'unauthorized', message: 'the token is not one of CPI_READ_TOKENS' })
  }
}
