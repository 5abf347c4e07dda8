import { defaultLimits, type FieldError, formatPath, parseJson } from '@cpi/schemas'

/** One event of a request: its text (what a dead letter keeps) and, when it parsed, its value. */
export interface RequestItem {
  index: number
  raw: string
  value?: unknown
  /** Why the item's JSON did not parse (NDJSON lines only; elsewhere the whole body is refused). */
  parseError?: string
  /**
   * Where the event nests deeper than the limit: it is rejected as `too_deep` as it is, since
   * recursive code (JSON.stringify, the schema) would overflow the stack on a deep enough value.
   * JSON.parse does not recurse in V8 (and a throw of it would be a 400 through parseJson).
   */
  tooDeep?: FieldError
}

export type DecodedBody =
  | { kind: 'items'; mode: 'structured' | 'batch' | 'ndjson' | 'binary'; items: RequestItem[] }
  | { kind: 'malformed'; message: string; raw: string }
  | { kind: 'unsupported'; message: string }

export const SUPPORTED_CONTENT_TYPES = [
  'application/cloudevents+json',
  'application/cloudevents-batch+json',
  'application/x-ndjson',
  'application/json (binary content mode, with ce-* headers)',
]

/**
 * Turns a request body into events, following the CloudEvents HTTP binding: structured
 * (one event), batch (an array), NDJSON (one event per line) or binary (attributes in
 * `ce-*` headers, `data` as the body). An event nesting deeper than `maxDepth` (the
 * validation's limit) is an item marked `tooDeep`, found without recursion, never an exception.
 */
export function decodeBody(
  contentTypeHeader: string | undefined,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  options: { maxDepth?: number } = {},
): DecodedBody {
  const maxDepth = options.maxDepth ?? defaultLimits.maxDepth
  const mediaType = (contentTypeHeader ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const text = body.toString('utf8')
  switch (mediaType) {
    case 'application/cloudevents+json': {
      const parsed = parseJson(text)
      if (!parsed.ok) return { kind: 'malformed', message: parsed.message, raw: text }
      return { kind: 'items', mode: 'structured', items: [item(0, text, parsed.value, maxDepth)] }
    }
    case 'application/cloudevents-batch+json':
      return decodeBatch(text, maxDepth)
    case 'application/x-ndjson':
    case 'application/ndjson':
      return decodeNdjson(text, maxDepth)
    case 'application/json':
      return decodeBinary(headers, text, maxDepth)
    default:
      return {
        kind: 'unsupported',
        message: `expected one of ${SUPPORTED_CONTENT_TYPES.join(', ')}, got ${mediaType === '' ? 'no Content-Type' : mediaType}`,
      }
  }
}

/** A parsed event, marked when it nests too deep. */
function item(index: number, raw: string, value: unknown, maxDepth: number): RequestItem {
  const tooDeep = tooDeepAt(value, maxDepth)
  return tooDeep ? { index, raw, value, tooDeep } : { index, raw, value }
}

function decodeBatch(text: string, maxDepth: number): DecodedBody {
  const parsed = parseJson(text)
  if (!parsed.ok) return { kind: 'malformed', message: parsed.message, raw: text }
  if (!Array.isArray(parsed.value)) {
    return {
      kind: 'malformed',
      message: 'expected a JSON array of events, got another JSON value',
      raw: text,
    }
  }
  // A too-deep event cannot be re-serialized for its dead letter: it keeps its text as sent.
  const texts = tooDeepAt(parsed.value, maxDepth + 1) ? arrayElementTexts(text) : undefined
  return {
    kind: 'items',
    mode: 'batch',
    items: parsed.value.map((value, index) => {
      const raw = texts?.[index]
      return raw !== undefined && tooDeepAt(value, maxDepth)
        ? item(index, raw, value, maxDepth)
        : { index, raw: JSON.stringify(value) ?? 'null', value }
    }),
  }
}

function decodeNdjson(text: string, maxDepth: number): DecodedBody {
  const items: RequestItem[] = []
  const lines = text.split('\n')
  for (const [lineIndex, line] of lines.entries()) {
    const raw = line.endsWith('\r') ? line.slice(0, -1) : line
    if (raw.trim() === '') continue
    const parsed = parseJson(raw)
    items.push(
      parsed.ok
        ? item(items.length, raw, parsed.value, maxDepth)
        : { index: items.length, raw, parseError: `line ${lineIndex + 1}: ${parsed.message}` },
    )
  }
  return { kind: 'items', mode: 'ndjson', items }
}

function decodeBinary(
  headers: Record<string, string | string[] | undefined>,
  text: string,
  maxDepth: number,
): DecodedBody {
  if (headerValue(headers, 'ce-specversion') === undefined) {
    return {
      kind: 'unsupported',
      message:
        'expected application/cloudevents+json, application/cloudevents-batch+json or application/x-ndjson, or application/json with ce-* headers (binary mode), got application/json without ce-specversion',
    }
  }
  const attributes = binaryAttributes(headers)
  let data: unknown
  if (text.trim() !== '') {
    const parsed = parseJson(text)
    if (!parsed.ok) return { kind: 'malformed', message: `data: ${parsed.message}`, raw: text }
    data = parsed.value
  }
  const event: Record<string, unknown> = { ...attributes }
  if (data !== undefined) event.data = data
  const tooDeep = tooDeepAt(event, maxDepth)
  if (!tooDeep)
    return { kind: 'items', mode: 'binary', items: [{ index: 0, raw: JSON.stringify(event), value: event }] }
  // The attributes serialized, the data as sent: no recursion over the deep value.
  const head = JSON.stringify(attributes).slice(0, -1)
  const raw = `${head}${head.length > 1 ? ',' : ''}"data":${text.trim()}}`
  return { kind: 'items', mode: 'binary', items: [{ index: 0, raw, value: event, tooDeep }] }
}

/**
 * Where `value` nests deeper than `maxDepth` levels (itself being level 1): the first container
 * found too deep, walked without recursion; undefined when none is.
 */
export function tooDeepAt(value: unknown, maxDepth: number): FieldError | undefined {
  interface Node {
    value: object
    depth: number
    parent?: Node
    key?: PropertyKey
  }
  if (typeof value !== 'object' || value === null) return undefined
  const stack: Node[] = [{ value, depth: 1 }]
  while (stack.length > 0) {
    const node = stack.pop() as Node
    if (node.depth > maxDepth) {
      const path: PropertyKey[] = []
      for (let at: Node | undefined = node; at?.key !== undefined; at = at.parent) path.unshift(at.key)
      return { path: formatPath(path), message: `expected nesting of at most ${maxDepth} levels, got more` }
    }
    const entries: Iterable<[PropertyKey, unknown]> = Array.isArray(node.value)
      ? node.value.entries()
      : Object.entries(node.value)
    for (const [key, child] of entries)
      if (typeof child === 'object' && child !== null)
        stack.push({ value: child, depth: node.depth + 1, parent: node, key })
  }
  return undefined
}

/** The text of each element of a JSON array, from text that parsed, found without recursion. */
function arrayElementTexts(text: string): string[] {
  const elements: string[] = []
  let depth = 0
  let start = 0
  let inString = false
  for (let index = 0; index < text.length; index++) {
    const char = text[index]
    if (inString) {
      if (char === '\\') index++
      else if (char === '"') inString = false
    } else if (char === '"') inString = true
    else if (char === '[' || char === '{') {
      if (++depth === 1) start = index + 1
    } else if (char === ']' || char === '}') {
      if (--depth === 0) elements.push(text.slice(start, index).trim())
    } else if (char === ',' && depth === 1) {
      elements.push(text.slice(start, index).trim())
      start = index + 1
    }
  }
  return elements
}

function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}

/** Every `ce-<name>` header as attribute `<name>`, percent-decoded as the HTTP binding says. */
function binaryAttributes(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const attributes: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || value === undefined) continue
    const raw = Array.isArray(value) ? (value[0] ?? '') : value
    let decoded = raw
    try {
      decoded = decodeURIComponent(raw)
    } catch {
      // not percent-encoded: keep it as sent
    }
    attributes[name.slice(3)] = decoded
  }
  return attributes
}
