import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { openApiDocument } from './openapi.ts'
import { parameter } from './params.ts'
import { declaredRoutes, defineRoute, serve } from './route.ts'

let http: FastifyInstance | undefined
afterEach(async () => {
  await http?.close()
  http = undefined
})

const shelves = new Map([['a', ['x', 'y']]])

/** A server with one route declared on it: a shelf by name, its items filtered by the query. */
async function shelfServer() {
  http = Fastify()
  const itemsOf = (shelf: string) =>
    z.object({
      item: parameter(
        z.string().refine((item) => shelves.get(shelf)?.includes(item)),
        { expected: `an item of the shelf (${shelves.get(shelf)?.join(', ')})` },
      ).describe('One item.'),
    })
  serve(
    http,
    defineRoute({
      method: 'POST',
      url: '/v1/shelves/:shelf',
      operationId: 'shelf',
      summary: 'A shelf.',
      params: z.object({
        shelf: z.string().refine((shelf) => shelves.has(shelf), { error: 'expected a shelf, got another' }),
      }),
      query: itemsOf(''),
      queryFor: ({ shelf }) => itemsOf(shelf),
      body: z.object({ count: z.int().min(1) }),
      responses: { 200: { description: 'The shelf.', schema: z.object({ shelf: z.string() }) } },
      handler: async ({ params, query, body }) => ({
        shelf: params.shelf,
        item: query.item,
        count: body.count,
      }),
    }),
  )
  await http.ready()
  return http
}

describe('routes declared once', () => {
  it('hands the handler its path, query and body as their schemas parse them', async () => {
    const server = await shelfServer()
    const response = await server.inject({
      method: 'POST',
      url: '/v1/shelves/a?item=z&item=y',
      payload: { count: 2 },
    })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ shelf: 'a', item: 'y', count: 2 })
  })

  it('answers 404 for a path its schema refuses, before looking at the query', async () => {
    const response = await (await shelfServer()).inject({
      method: 'POST',
      url: '/v1/shelves/b?item=nope',
      payload: {},
    })
    expect(response.statusCode).toBe(404)
    expect(response.json()).toEqual({ error: 'not_found', message: 'expected a shelf, got another' })
  })

  it('answers 400 naming each bad parameter, with the query schema bound to the path', async () => {
    const server = await shelfServer()
    const query = await server.inject({ method: 'POST', url: '/v1/shelves/a?item=z', payload: { count: 1 } })
    expect(query.statusCode).toBe(400)
    expect(query.json()).toEqual({
      error: 'bad_request',
      message: 'item: expected an item of the shelf (x, y), got "z"',
      details: [{ parameter: 'item', message: 'expected an item of the shelf (x, y), got "z"' }],
    })
    const body = await server.inject({ method: 'POST', url: '/v1/shelves/a', payload: { count: 0 } })
    expect(body.statusCode).toBe(400)
    expect(body.json().details.map((detail: { parameter: string }) => detail.parameter)).toEqual(['count'])
  })

  it('records the declaration for the document: path, parameters, body and answers', async () => {
    const server = await shelfServer()
    expect(declaredRoutes(server).map((route) => route.operationId)).toEqual(['shelf'])
    const operation = openApiDocument(declaredRoutes(server)).paths['/v1/shelves/{shelf}']?.post as Record<
      string,
      unknown
    >
    expect(operation.parameters).toEqual([
      { name: 'shelf', in: 'path', required: true, schema: { type: 'string' } },
      { name: 'item', in: 'query', required: false, description: 'One item.', schema: { type: 'string' } },
    ])
    expect(Object.keys(operation.responses as object)).toEqual(['200', '400', '401', '403'])
    expect(operation.security).toEqual([{ bearer: ['admin'] }])
    expect(operation.requestBody).toMatchObject({ required: true })
  })
})
