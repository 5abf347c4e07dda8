import { parseJson } from '@cpi/schemas'

/** One event of a request: its text (what a dead letter keeps) and, when it parsed, its value. */
export interface RequestItem {
  index: number
  raw: string
  value?: unknown
  /** Why the item's JSON did not parse (NDJSON lines only; elsewhere the whole body is refused). */
  parseError?: string
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
 * `ce-*` headers, `data` as the body).
 */
export function decodeBody(
  contentTypeHeader: string | undefined,
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
): DecodedBody {
  const mediaType = (contentTypeHeader ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
  const text = body.toString('utf8')
  switch (mediaType) {
    case 'application/cloudevents+json': {
      const parsed = parseJson(text)
      if (!parsed.ok) return { kind: 'malformed', message: parsed.message, raw: text }
      return { kind: 'items', mode: 'structured', items: [{ index: 0, raw: text, value: parsed.value }] }
    }
    case 'application/cloudevents-batch+json': {
      const parsed = parseJson(text)
      if (!parsed.ok) return { kind: 'malformed', message: parsed.message, raw: text }
      if (!Array.isArray(parsed.value)) {
        return {
          kind: 'malformed',
          message: 'expected a JSON array of events, got another JSON value',
          raw: text,
        }
      }
      return {
        kind: 'items',
        mode: 'batch',
        items: parsed.value.map((value, index) => ({ index, raw: JSON.stringify(value) ?? 'null', value })),
      }
    }
    case 'application/x-ndjson':
    case 'application/ndjson': {
      const items: RequestItem[] = []
      const lines = text.split('\n')
      for (const [lineIndex, line] of lines.entries()) {
        const raw = line.endsWith('\r') ? line.slice(0, -1) : line
        if (raw.trim() === '') continue
        const parsed = parseJson(raw)
        items.push(
          parsed.ok
            ? { index: items.length, raw, value: parsed.value }
            : { index: items.length, raw, parseError: `line ${lineIndex + 1}: ${parsed.message}` },
        )
      }
      return { kind: 'items', mode: 'ndjson', items }
    }
    case 'application/json': {
      if (headerValue(headers, 'ce-specversion') === undefined) {
        return {
          kind: 'unsupported',
          message:
            'expected application/cloudevents+json, application/cloudevents-batch+json or application/x-ndjson, or application/json with ce-* headers (binary mode), got application/json without ce-specversion',
        }
      }
      let data: unknown
      if (text.trim() !== '') {
        const parsed = parseJson(text)
        if (!parsed.ok) return { kind: 'malformed', message: `data: ${parsed.message}`, raw: text }
        data = parsed.value
      }
      const event: Record<string, unknown> = { ...binaryAttributes(headers) }
      if (data !== undefined) event.data = data
      return {
        kind: 'items',
        mode: 'binary',
        items: [{ index: 0, raw: JSON.stringify(event), value: event }],
      }
    }
    default:
      return {
        kind: 'unsupported',
        message: `expected one of ${SUPPORTED_CONTENT_TYPES.join(', ')}, got ${mediaType === '' ? 'no Content-Type' : mediaType}`,
      }
  }
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
