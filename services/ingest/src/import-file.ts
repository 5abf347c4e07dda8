// Historical import: a file of events (NDJSON, or CSV with one column per envelope attribute
// and `data.<field>` columns) sent through the gateway in batches, at a bounded rate, with
// progress. The gateway validates, dead-letters and answers as for any producer; event ids make
// a re-run harmless (the processor drops a copy it has already accepted).

/** One line of the file, ready to send: JSON text, or the line as it was when it could not be converted (the gateway then rejects it with its reason, and keeps it). */
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

/**
 * Splits CSV text into records (RFC 4180: quoted fields may hold commas, quotes doubled, and
 * line breaks). Each record keeps the line it starts on.
 */
export function csvRecords(text: string): { line: number; fields: string[]; raw: string }[] {
  const records: { line: number; fields: string[]; raw: string }[] = []
  let fields: string[] = []
  let field = ''
  let quoted = false
  let line = 1
  let startLine = 1
  let startAt = 0
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
    if (char === '"' && field === '') quoted = true
    else if (char === ',') {
      fields.push(field)
      field = ''
    } else if (char === '\n') {
      endRecord(at > 0 && text[at - 1] === '\r' ? at - 1 : at)
      line++
      startLine = line
      startAt = at + 1
    } else if (char !== '\r') field += char
  }
  if (field !== '' || fields.length > 0) endRecord(text.length)
  return records
}

const ENVELOPE = new Set(['specversion', 'id', 'source', 'type', 'time', 'subject', 'experiment', 'variant'])

/** A `data.` cell's value: a JSON number, boolean or null as such, anything else as text. */
function cellValue(cell: string): unknown {
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(cell)) return Number(cell)
  if (cell === 'true' || cell === 'false') return cell === 'true'
  if (cell === 'null') return null
  return cell
}

/**
 * CSV records as events: the header names envelope attributes (`id`, `source`, `type`, `time`,
 * `subject`, …) and `data.<field>` columns; empty cells are left out; `specversion` defaults to
 * 1.0. A record whose cells do not match the header is passed on as its raw text, for the
 * gateway to reject (malformed) and keep.
 */
export function csvLines(text: string): { lines: ImportLine[]; headerErrors: string[] } {
  const [header, ...records] = csvRecords(text)
  if (!header) return { lines: [], headerErrors: ['expected a header row, got an empty file'] }
  const columns = header.fields.map((name) => name.trim())
  const headerErrors = columns
    .filter((name) => !ENVELOPE.has(name) && !name.startsWith('data.'))
    .map(
      (name) =>
        `column ${JSON.stringify(name)}: expected an envelope attribute (${[...ENVELOPE].join(', ')}) or data.<field>`,
    )
  const lines = records.map((record) => {
    if (record.fields.length !== columns.length) return { line: record.line, text: record.raw }
    const event: Record<string, unknown> = { specversion: '1.0' }
    const data: Record<string, unknown> = {}
    record.fields.forEach((cell, index) => {
      const name = columns[index] as string
      if (cell === '') return
      if (name.startsWith('data.')) data[name.slice(5)] = cellValue(cell)
      else event[name] = cell
    })
    if (Object.keys(data).length > 0) event.data = data
    return { line: record.line, text: JSON.stringify(event) }
  })
  return { lines, headerErrors }
}
