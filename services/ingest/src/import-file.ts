// Historical import: a file of events (NDJSON, or CSV with one column per envelope attribute
// and `data.<field>` columns) sent through the gateway in batches, at a bounded rate, with
// progress. The gateway validates, dead-letters and answers as for any producer; event ids make
// a re-run harmless (the processor drops a copy it has already accepted).

/** One line of the file, ready to send: an event's JSON text (NDJSON lines go as they are; the gateway judges them). */
export interface ImportLine {
  /** 1-based line number in the file. */
  line: number
  text: string
}

export type ImportFormat = 'ndjson' | 'csv'

export function formatOf(fileName: string, explicit?: string): ImportFormat {
  if (explicit === 'ndjson' || explicit === 'csv') return explicit
  if (explicit !== undefined)
    throw new Error(`--format: expected ndjson or csv, got ${JSON.stringify(explicit)}`)
  return fileName.toLowerCase().endsWith('.csv') ? 'csv' : 'ndjson'
}

/** The lines of an NDJSON file that hold something (blank lines are skipped). */
export function ndjsonLines(text: string): ImportLine[] {
  const lines: ImportLine[] = []
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() !== '') lines.push({ line: index + 1, text: line })
  })
  return lines
}

/** A line the import rejects before sending it (the gateway never sees it): kept with its reason. */
export interface LocalRejection {
  line: number
  reason: 'malformed_csv'
  errors: { path: string; message: string }[]
  raw: string
}

/**
 * Splits CSV text into records (RFC 4180: quoted fields may hold commas, quotes doubled, and
 * line breaks). Each record keeps the line it starts on. A quote never closed is an error with
 * its line, not a last record that swallows the rest of the file.
 */
export function csvRecords(text: string): { line: number; fields: string[]; raw: string }[] {
  const records: { line: number; fields: string[]; raw: string }[] = []
  let fields: string[] = []
  let field = ''
  let quoted = false
  let line = 1
  let startLine = 1
  let startAt = 0
  let quoteLine = 0
  const endRecord = (at: number) => {
    fields.push(field)
    const raw = text.slice(startAt, at)
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: startLine, fields, raw })
    fields = []
    field = ''
  }
  for (let at = 0; at < text.length; at++) {
    const char = text[at] as string
    if (quoted) {
      if (char === '"' && text[at + 1] === '"') {
        field += '"'
        at++
      } else if (char === '"') quoted = false
      else {
        if (char === '\n') line++
        field += char
      }
      continue
    }
    if (char === '"' && field === '') {
      quoted = true
      quoteLine = line
    } else if (char === ',') {
      fields.push(field)
      field = ''
    } else if (char === '\n') {
      endRecord(at > 0 && text[at - 1] === '\r' ? at - 1 : at)
      line++
      startLine = line
      startAt = at + 1
    } else if (char !== '\r') field += char
  }
  if (quoted) throw new Error(`line ${quoteLine}: a quoted field is never closed`)
  if (field !== '' || fields.length > 0) endRecord(text.length)
  return records
}

const ENVELOPE = new Set(['specversion', 'id', 'source', 'type', 'time', 'subject', 'experiment', 'variant'])
const TYPES = ['string', 'number', 'boolean', 'json'] as const
type CellType = (typeof TYPES)[number]

/** A header cell: an envelope attribute, or `data.<field>` with an optional `:type` (text by default). */
function columnOf(name: string): { target: 'envelope' | 'data'; field: string; type: CellType } | string {
  if (ENVELOPE.has(name)) return { target: 'envelope', field: name, type: 'string' }
  const match = /^data\.([^:]+)(?::(.+))?$/.exec(name)
  if (!match)
    return `column ${JSON.stringify(name)}: expected an envelope attribute (${[...ENVELOPE].join(', ')}) or data.<field>[:type]`
  const type = (match[2] ?? 'string') as CellType
  if (!TYPES.includes(type))
    return `column ${JSON.stringify(name)}: expected a type of ${TYPES.join(', ')}, got ${JSON.stringify(match[2])}`
  return { target: 'data', field: match[1] as string, type }
}

/** A cell as its column's type; text stays text (ids like 00123 keep their zeros). */
function cellValue(
  cell: string,
  type: CellType,
): { ok: true; value: unknown } | { ok: false; message: string } {
  if (type === 'string') return { ok: true, value: cell }
  if (type === 'boolean') {
    if (cell === 'true' || cell === 'false') return { ok: true, value: cell === 'true' }
    return { ok: false, message: `expected true or false, got ${JSON.stringify(cell)}` }
  }
  if (type === 'number') {
    const value = Number(cell)
    const integer = /^-?\d+$/.test(cell)
    const number = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(cell)
    if (number && Number.isFinite(value) && (!integer || Number.isSafeInteger(value)))
      return { ok: true, value }
    return {
      ok: false,
      message: `expected a number (whole numbers within ±2^53), got ${JSON.stringify(cell)}`,
    }
  }
  try {
    return { ok: true, value: JSON.parse(cell) as unknown }
  } catch {
    return { ok: false, message: `expected JSON, got ${JSON.stringify(cell)}` }
  }
}

/** One record as an event's JSON text, or why it is not one. */
function recordEvent(
  record: { line: number; fields: string[]; raw: string },
  columns: readonly { target: 'envelope' | 'data'; field: string; type: CellType }[],
): ImportLine | LocalRejection {
  const reject = (path: string, message: string): LocalRejection => ({
    line: record.line,
    reason: 'malformed_csv',
    errors: [{ path, message }],
    raw: record.raw,
  })
  if (record.fields.length !== columns.length)
    return reject('', `expected ${columns.length} cells as the header has, got ${record.fields.length}`)
  const event: Record<string, unknown> = { specversion: '1.0' }
  const data: Record<string, unknown> = {}
  for (const [index, cell] of record.fields.entries()) {
    const column = columns[index] as (typeof columns)[number]
    if (cell === '') continue
    if (column.target === 'envelope') {
      event[column.field] = cell
      continue
    }
    const converted = cellValue(cell, column.type)
    if (!converted.ok) return reject(`data.${column.field}`, converted.message)
    data[column.field] = converted.value
  }
  if (Object.keys(data).length > 0) event.data = data
  return { line: record.line, text: JSON.stringify(event) }
}

/**
 * CSV records as events: the header names envelope attributes (`id`, `source`, `type`, `time`,
 * `subject`, …) and `data.<field>` columns, typed by a suffix (`data.items:number`,
 * `data.fragile:boolean`, `data.tags:json`; text without one); empty cells are left out;
 * `specversion` defaults to 1.0. A record that is no event (cells missing, a cell not of its
 * column's type) is rejected here with its line and reason; the caller keeps it.
 */
export function csvLines(text: string): {
  lines: ImportLine[]
  rejected: LocalRejection[]
  headerErrors: string[]
} {
  const [header, ...records] = csvRecords(text)
  if (!header) return { lines: [], rejected: [], headerErrors: ['expected a header row, got an empty file'] }
  const parsed = header.fields.map((name) => columnOf(name.trim()))
  const headerErrors = parsed.filter((column): column is string => typeof column === 'string')
  if (headerErrors.length > 0) return { lines: [], rejected: [], headerErrors }
  const columns = parsed as Exclude<(typeof parsed)[number], string>[]
  const lines: ImportLine[] = []
  const rejected: LocalRejection[] = []
  for (const record of records) {
    const result = recordEvent(record, columns)
    if ('text' in result) lines.push(result)
    else rejected.push(result)
  }
  return { lines, rejected, headerErrors }
}
