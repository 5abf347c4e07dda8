import type { AccessKeys, Scope } from '@cpi/runtime'
import type { FastifyReply, FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Whether the access this request was let in with still holds (its key not rotated out,
     * expired or stripped of the scope): long-lived responses (`/v1/stream`) ask it as they go.
     */
    accessStillValid?: () => boolean
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1'])
const READING = new Set(['GET', 'HEAD', 'OPTIONS'])

/** The scope a `/v1/*` request needs: `read` to read, `admin` to change (silences). */
export const requiredScope = (method: string): Scope => (READING.has(method) ? 'read' : 'admin')

/**
 * Access to `/v1/*` (but `POST /v1/events`, which the ingest gateway guards itself): a Bearer
 * key (or, for `GET /v1/stream` only, `access_token` in the query string: EventSource cannot
 * send headers) with
 * the scope `read` for reads and `admin` for changes (`POST`/`DELETE /v1/silences`). Keys come
 * from CPI_READ_TOKENS (scope read) and the keys file (CPI_KEYS_FILE, any scopes), read anew on
 * every request so a reloaded file applies at once.
 *
 * No key, or an unknown, rotated-out or expired one: 401 with `WWW-Authenticate`. A valid key
 * without the scope: 403. While no key with the scope read or admin exists at all, local mode
 * is open to the loopback interface only (reads and changes, as before) and production mode
 * is closed.
 */
export function apiAccess(options: { keys: () => AccessKeys; mode: 'local' | 'production' }) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    // The route that matched, not the raw URL: the router decodes percent-escapes, so
    // `/%761/cpis` reaches `/v1/cpis` while its raw URL does not start with `/v1/`.
    const route = request.routeOptions.url ?? request.url.split('?', 1)[0] ?? ''
    if (!route.startsWith('/v1/') || route === '/v1/events') return
    const keys = options.keys()
    const open = (current: AccessKeys) => !current.configured('read') && !current.configured('admin')
    if (open(keys)) {
      if (options.mode === 'local' && LOOPBACK.has(request.socket.remoteAddress ?? '')) {
        request.accessStillValid = () => open(options.keys())
        return
      }
      return reply.code(401).send({
        error: 'unauthorized',
        message:
          options.mode === 'local'
            ? 'the API is open only to localhost without read keys (CPI_READ_TOKENS or CPI_KEYS_FILE); configure keys to reach it from elsewhere'
            : 'no read keys are configured (CPI_READ_TOKENS or CPI_KEYS_FILE); the API is closed',
      })
    }
    const header = request.headers.authorization
    // The query string only for the live stream (EventSource cannot send headers): a key in a
    // URL ends up in logs and browser history, so no other route, and no change, takes one.
    const queryAllowed = route === '/v1/stream' && (request.method === 'GET' || request.method === 'HEAD')
    const fromQuery = queryAllowed
      ? (request.query as Record<string, unknown> | undefined)?.access_token
      : undefined
    const token = /^bearer /i.test(header ?? '')
      ? (header as string).slice(7).trim()
      : typeof fromQuery === 'string'
        ? fromQuery
        : ''
    if (token === '')
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="cpi"')
        .send({ error: 'unauthorized', message: 'expected an Authorization: Bearer <read token> header' })
    const checked = keys.check(token)
    if (!checked.ok)
      return reply.code(401).header('www-authenticate', 'Bearer realm="cpi", error="invalid_token"').send({
        error: 'unauthorized',
        message: 'the token is not a key of this API (unknown, rotated out or expired)',
      })
    const scope = requiredScope(request.method)
    if (!checked.scopes.has(scope))
      return reply
        .code(403)
        .header('www-authenticate', `Bearer realm="cpi", error="insufficient_scope", scope="${scope}"`)
        .send({ error: 'forbidden', message: `this key lacks the scope ${scope}` })
    request.accessStillValid = () => {
      const again = options.keys().check(token)
      return again.ok && again.scopes.has(scope)
    }
  }
}
