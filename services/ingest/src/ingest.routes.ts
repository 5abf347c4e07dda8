import type { AccessKeys } from '@cpi/runtime'
import type { FastifyError, FastifyInstance } from 'fastify'
import { decodeBody } from './decode-body.ts'
import { bearerKey } from './ingest-keys.ts'
import type { IngestService } from './ingest-service.ts'

declare module 'fastify' {
  interface FastifyRequest {
    ingestSender?: string
  }
}

/**
 * `POST /v1/events`, in a plugin scope of its own so its body parsing (raw bytes of any media
 * type, checked by the handler) and its error answers do not leak into other routes.
 *
 * Access: a key with the scope `ingest`. No key or an unknown, rotated-out or expired one: 401
 * with `WWW-Authenticate`; a valid key without the scope (a read token): 403. `keys` is asked
 * on every request, so a reloaded keys file applies to the next request.
 */
export function registerIngestRoutes(
  app: FastifyInstance,
  options: { service: IngestService; keys: () => AccessKeys; maxBodyBytes: number; maxDepth?: number },
): void {
  const { service, keys, maxBodyBytes, maxDepth } = options
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_request, body, done) =>
      done(null, body),
    )

    scope.setErrorHandler((error: FastifyError, _request, reply) => {
      if (error.statusCode === 413) {
        service.countRefused(413)
        return reply.code(413).send({
          error: 'payload_too_large',
          message: `expected a body of at most ${maxBodyBytes} bytes, got more`,
          accepted: 0,
        })
      }
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500
      service.countRefused(status)
      if (status === 500) scope.log.error({ err: error }, 'ingest request failed')
      return reply.code(status).send({ error: error.code ?? 'error', message: error.message, accepted: 0 })
    })

    scope.post(
      '/v1/events',
      {
        bodyLimit: maxBodyBytes,
        // Authentication before the body is read: an unauthenticated client costs no parsing.
        onRequest: async (request, reply) => {
          const presented = bearerKey(request.headers.authorization)
          if (!presented.ok) {
            service.countRefused(401)
            return reply
              .code(401)
              .header('www-authenticate', 'Bearer realm="cpi-ingest"')
              .send({ error: 'unauthorized', message: presented.message, accepted: 0 })
          }
          const verified = keys().check(presented.key)
          if (!verified.ok) {
            service.countRefused(401)
            return reply
              .code(401)
              .header('www-authenticate', 'Bearer realm="cpi-ingest", error="invalid_token"')
              .send({
                error: 'unauthorized',
                message:
                  'expected a valid ingest key, got one this gateway does not know (or no longer: rotated out or expired)',
                accepted: 0,
              })
          }
          if (!verified.scopes.has('ingest')) {
            service.countRefused(403)
            return reply
              .code(403)
              .header(
                'www-authenticate',
                'Bearer realm="cpi-ingest", error="insufficient_scope", scope="ingest"',
              )
              .send({ error: 'forbidden', message: 'this key lacks the scope ingest', accepted: 0 })
          }
          request.ingestSender = verified.sender
        },
      },
      async (request, reply) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
        const decoded = decodeBody(request.headers['content-type'], request.headers, body, {
          ...(maxDepth === undefined ? {} : { maxDepth }),
        })
        const result = await service.handle(decoded, request.ingestSender ?? 'unknown')
        if (result.headers) reply.headers(result.headers)
        return reply.code(result.status).send(result.body)
      },
    )
  })
}
