import { z } from 'zod'
import { requiredScope } from './auth.ts'
import type { Answer, RouteDeclaration } from './route.ts'
import { Problem } from './schemas.ts'

// The OpenAPI 3.1 document, written from the routes' declarations (route.ts): their zod schemas
// become JSON Schemas (zod's own z.toJSONSchema), those with an `id` the shared components.
// Served at /v1/openapi.json and committed as docs/openapi.json (`npm run openapi`).

type JsonSchema = Record<string, unknown>

/** What the document shows instead of a schema whose checks live elsewhere (a domain parser's). */
const shownAs = new WeakMap<z.ZodType, z.ZodType>()

/** `schema`, shown in the document as `documented`. */
export function documentedAs<T extends z.ZodType>(schema: T, documented: z.ZodType): T {
  shownAs.set(schema, documented)
  return schema
}

const info = {
  title: 'CPI pipeline API',
  version: '1.0.0',
  description:
    'Customer Performance Indicators: the catalog with current values, series per window and segment, alerts and silences, and a live stream. Times are ISO 8601 UTC. Keys: `Authorization: Bearer <key>` (or, for `GET /v1/stream` only, `access_token` in the query: EventSource cannot send headers), with the scope `read` for reads and `admin` to create or expire silences (a valid key without the scope gets 403).',
}

/** The answers every /v1 route may give besides its own. */
const access: Record<number, Answer> = {
  401: { description: 'No key, or one that is unknown, rotated out or expired.', schema: Problem },
  403: {
    description: 'A valid key without the scope of the route (`read` to read, `admin` to change silences).',
    schema: Problem,
  },
}
const invalid: Answer = { description: 'A parameter is invalid; `details` names each one.', schema: Problem }

/** Drops the bounds zod gives every integer (the safe range): they say nothing about the API. */
function tidy({ jsonSchema }: { jsonSchema: JsonSchema }) {
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum
}

/** Converts zod schemas to the document's JSON Schemas, collecting the components they refer to. */
class SchemaWriter {
  readonly components: Record<string, JsonSchema> = {}

  /** `schema` as JSON Schema (its input for what a request sends, its output for an answer). */
  write(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const converted = z.toJSONSchema(shownAs.get(schema) ?? schema, { io, override: tidy }) as JsonSchema
    const { $schema: _version, $defs, ...json } = converted
    for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
      const written = this.refer(definition)
      const known = this.components[id]
      if (known && JSON.stringify(known) !== JSON.stringify(written))
        throw new Error(`two different schemas have the id ${id}`)
      this.components[id] = written
    }
    return this.refer(json)
  }

  /** `json` with its references to `$defs` pointed at the document's components. */
  private refer(json: JsonSchema): JsonSchema {
    return JSON.parse(JSON.stringify(json).replaceAll('"#/$defs/', '"#/components/schemas/'))
  }
}

/** The parameters an object schema of path or query parameters describes, one per property. */
function parametersOf(writer: SchemaWriter, schema: z.ZodType | undefined, location: 'path' | 'query') {
  if (!schema) return []
  const json = writer.write(schema, 'input')
  const required = new Set((json.required ?? []) as string[])
  return Object.entries((json.properties ?? {}) as Record<string, JsonSchema>).map(([name, property]) => {
    const { description, ...rest } = property
    return {
      name,
      in: location,
      required: location === 'path' || required.has(name),
      ...(description === undefined ? {} : { description }),
      schema: rest,
    }
  })
}

/** One answer of an operation in the document. */
function answerOf(writer: SchemaWriter, answer: Answer) {
  if (!answer.schema && !answer.type) return { description: answer.description }
  return {
    description: answer.description,
    content: {
      [answer.type ?? 'application/json']: answer.schema
        ? { schema: writer.write(answer.schema, 'output') }
        : {},
    },
  }
}

/** The OpenAPI operation of one route. */
function operationOf(writer: SchemaWriter, route: RouteDeclaration) {
  const parameters = [
    ...parametersOf(writer, route.params, 'path'),
    ...parametersOf(writer, route.query, 'query'),
  ]
  // Numeric keys keep their order: by status.
  const validates: Record<number, Answer> =
    route.query || route.body || route.badParams ? { 400: invalid } : {}
  const responses = { ...validates, ...access, ...route.responses }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: writer.write(route.body, 'input') } },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries(responses).flatMap(([status, answer]) =>
        answer ? [[status, answerOf(writer, answer)]] : [],
      ),
    ),
    security: [{ bearer: [requiredScope(route.method)] }],
  }
}

/** The OpenAPI 3.1 document of `routes`, paths in the order they were declared. */
export function openApiDocument(routes: readonly RouteDeclaration[]) {
  const writer = new SchemaWriter()
  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}')
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operationOf(writer, route) }
  }
  const schemas = Object.fromEntries(Object.entries(writer.components).sort(([a], [b]) => a.localeCompare(b)))
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    paths,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } }, schemas },
  }
}

export type OpenApiDocument = ReturnType<typeof openApiDocument>
