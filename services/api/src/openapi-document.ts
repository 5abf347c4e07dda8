import { createLogger } from '@cpi/logger'
import Fastify from 'fastify'
import { registerAnalyticsRoutes } from './analytics.routes.ts'
import { registerApiRoutes } from './api.routes.ts'
import { type OpenApiDocument, openApiDocument } from './openapi.ts'
import { declaredRoutes } from './route.ts'
import { registerStream } from './stream.ts'

// The API's OpenAPI document without a running service: every route group registered on a
// server that never starts, with stores that are never read (declaring a route reads nothing).

/** Where the document is committed: `npm run openapi` writes it, a unit test diffs it. */
export const committedDocumentFile = new URL('../../../docs/openapi.json', import.meta.url)

/** The document of every route the API declares, as served at /v1/openapi.json. */
export function apiDocument(): OpenApiDocument {
  const http = Fastify()
  const unused = {} as never
  registerApiRoutes(http, { clickhouse: unused, catalog: [], live: unused })
  registerAnalyticsRoutes(http, { clickhouse: unused, catalog: [], live: unused, eventsTopic: 'events' })
  registerStream(http, {
    live: unused,
    intervalMs: 1000,
    logger: createLogger({ service: 'openapi', level: 'silent' }),
  })
  return openApiDocument(declaredRoutes(http))
}

/** The document as committed: JSON laid out as the repository's formatter lays it out. */
export const apiDocumentText = (): string => `${formatJson(apiDocument())}\n`

const LINE_WIDTH = 110

/**
 * `value` as formatted JSON: objects one member a line, an array of plain values on one line
 * when it fits in the line width (`column`: where it starts; `suffix`: what follows it there).
 */
export function formatJson(value: unknown, indent = '', column = 0, suffix = 0): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  const inner = `${indent}  `
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]'
    const flat = value.every((item) => item === null || typeof item !== 'object')
    const line = `[${value.map((item) => JSON.stringify(item)).join(', ')}]`
    if (flat && column + line.length + suffix <= LINE_WIDTH) return line
    const items = value.map(
      (item, index) => `${inner}${formatJson(item, inner, inner.length, index < value.length - 1 ? 1 : 0)}`,
    )
    return `[\n${items.join(',\n')}\n${indent}]`
  }
  const entries = Object.entries(value)
  if (entries.length === 0) return '{}'
  const members = entries.map(([key, member], index) => {
    const prefix = `${inner}${JSON.stringify(key)}: `
    return `${prefix}${formatJson(member, inner, prefix.length, index < entries.length - 1 ? 1 : 0)}`
  })
  return `{\n${members.join(',\n')}\n${indent}}`
}
