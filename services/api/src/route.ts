import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import type { ParameterProblem } from './params.ts'

// Each HTTP route of the API declared once: method, URL, what it does, zod schemas of what it
// takes and answers. `serve` registers the fastify route, validating with those schemas, and
// records the declaration, from which openapi.ts writes the OpenAPI document.

export type Method = 'GET' | 'POST' | 'DELETE'

/** One answer of a route: what it means, and its body's schema and media type. */
export interface Answer {
  description: string
  /** The body's schema; none for an empty answer (204) or one the document leaves open. */
  schema?: z.ZodType
  /** Default `application/json`. */
  type?: string
}

/** What a route's handler gets: its path parameters, query and body, each parsed by its schema. */
export interface RouteInput<P, Q, B> {
  params: P
  query: Q
  body: B
}

/** A route as the document sees it: everything but the handler. */
export interface RouteDeclaration {
  method: Method
  /** In fastify's syntax: `/v1/cpis/:name`. */
  url: string
  operationId: string
  summary: string
  description?: string
  /**
   * Path parameters. One its schema refuses names nothing that exists: 404 `not_found`; with
   * `badParams` (a parameter whose form is checked, not its existence, such as a length), 400
   * `bad_request` naming it.
   */
  params?: z.ZodType
  badParams?: 'bad_request'
  /** The query string. Each problem is a 400 `bad_request` naming the parameter. */
  query?: z.ZodType
  /** The JSON body. Each problem is a 400 `bad_request` naming the field. */
  body?: z.ZodType
  /**
   * By status. 401, 403 and (with a query or body) 400 are added to every /v1 route; `null` says
   * a route never gives one of those.
   */
  responses: Record<number, Answer | null>
}

/** A route: its declaration, its handler, and how its validation may depend on the path. */
export interface Route<P, Q, B> extends RouteDeclaration {
  params?: z.ZodType<P>
  query?: z.ZodType<Q>
  /** The query schema bound to what the path names (a CPI's own dimensions); `query` is documented. */
  queryFor?: (params: P) => z.ZodType<Q>
  body?: z.ZodType<B>
  handler: (input: RouteInput<P, Q, B>, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
}

/** A route, with its input types inferred from its schemas. */
export const defineRoute = <P = undefined, Q = undefined, B = undefined>(route: Route<P, Q, B>) => route

const declared = new WeakMap<FastifyInstance, RouteDeclaration[]>()

/** The routes declared on `http` so far, in the order they were registered. */
export const declaredRoutes = (http: FastifyInstance): readonly RouteDeclaration[] => declared.get(http) ?? []

/** The problems of a failed parse, each naming its parameter or field (`matchers[0].name`). */
export function problemsOf(error: z.ZodError): ParameterProblem[] {
  return error.issues.map((issue) => ({ parameter: issue.path.join('.'), message: issue.message }))
}

/** Answers 400 naming each bad parameter: `parameter: message` joined, and the list in `details`. */
export function badRequest(reply: FastifyReply, problems: ParameterProblem[]) {
  return reply.code(400).send({
    error: 'bad_request',
    message: problems.map((problem) => `${problem.parameter}: ${problem.message}`).join('; '),
    details: problems,
  })
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: ParameterProblem[] }

/** `input` parsed by `schema` (left as it is without one). */
function parse<T>(schema: z.ZodType<T> | undefined, input: unknown): Parsed<T> {
  if (!schema) return { ok: true, value: input as T }
  const parsed = schema.safeParse(input)
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, problems: problemsOf(parsed.error) }
}

/** Registers each route on `http`, validating its path, query and body before its handler runs. */
export function serve<P, Q, B>(http: FastifyInstance, route: Route<P, Q, B>): void {
  const { handler, queryFor, ...declaration } = route
  declared.set(http, [...declaredRoutes(http), declaration])
  http.route({
    method: route.method,
    url: route.url,
    handler: async (request, reply) => {
      const params = parse(route.params, request.params)
      if (!params.ok && route.badParams === 'bad_request') return badRequest(reply, params.problems)
      if (!params.ok)
        return reply.code(404).send({
          error: 'not_found',
          message: params.problems.map((problem) => problem.message).join('; '),
        })
      const query = parse(queryFor ? queryFor(params.value) : route.query, request.query)
      if (!query.ok) return badRequest(reply, query.problems)
      const body = parse(route.body, request.body)
      if (!body.ok) return badRequest(reply, body.problems)
      return handler({ params: params.value, query: query.value, body: body.value }, request, reply)
    },
  })
}
