// `cpi import FILE`: a historical import through the ingest gateway, with progress.
//
//   cpi import history.ndjson [--format ndjson|csv] [--url http://127.0.0.1:8080] [--key KEY]
//              [--rate 2000] [--batch 500] [--rejections rejected.ndjson]
//
// The key: --key, else CPI_INGEST_KEY, else the local key in <CPI_DATA_DIR>/ingest-key (what
// `npm start` generated). Progress goes to stderr once a second, the summary to stdout as JSON.
// Exit 0 when every event was accepted, 1 when some were rejected (each with its line, reason
// and errors in --rejections; the gateway keeps the ones it rejected as dead letters, a CSV row
// that is no event is rejected here, raw text included), 2 on a usage error,
// 3 when the import could not finish (the gateway refused or stayed unreachable). Re-running it
// is harmless: the processor drops a copy of an event it has already accepted.
import { appendFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { csvLines, formatOf, type ImportLine, type LocalRejection, ndjsonLines } from './import-file.ts'
import { type ImportProgress, sendImport } from './import-sender.ts'

function usage(message: string): never {
  process.stderr.write(
    `cpi import: ${message}\nusage: cpi import FILE [--format ndjson|csv] [--url URL] [--key KEY] [--rate N] [--batch N] [--rejections FILE]\n`,
  )
  process.exit(2)
}

function parseOptions() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? '8080'}` },
        key: { type: 'string' },
        rate: { type: 'string', default: '2000' },
        batch: { type: 'string', default: '500' },
        rejections: { type: 'string' },
      },
    })
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error))
  }
}
const { values, positionals } = parseOptions()

const positiveInt = (name: string, text: string): number => {
  const value = Number(text)
  if (!Number.isInteger(value) || value < 1)
    usage(`--${name}: expected a whole number ≥ 1, got ${JSON.stringify(text)}`)
  return value
}

async function keyToUse(): Promise<string> {
  if (values.key) return values.key
  if (process.env.CPI_INGEST_KEY) return process.env.CPI_INGEST_KEY.split(',')[0] as string
  const file = path.resolve(process.env.CPI_DATA_DIR ?? '.data', 'ingest-key')
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch {
    usage(`no ingest key: pass --key, set CPI_INGEST_KEY, or start the product once so that ${file} exists`)
  }
}

async function linesOf(file: string): Promise<{ lines: ImportLine[]; rejected: LocalRejection[] }> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    usage(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  let format: ReturnType<typeof formatOf>
  try {
    format = formatOf(file, values.format)
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error))
  }
  if (format === 'ndjson') return { lines: ndjsonLines(text), rejected: [] }
  let csv: ReturnType<typeof csvLines>
  try {
    csv = csvLines(text)
  } catch (error) {
    usage(`${file}: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (csv.headerErrors.length > 0) usage(`${file}: ${csv.headerErrors.join('; ')}`)
  return csv
}

const say = (progress: ImportProgress) => {
  const share = progress.lines === 0 ? 100 : Math.round((progress.sent / progress.lines) * 100)
  const rate = Math.round(progress.sent / Math.max(0.001, progress.elapsedMs / 1000))
  process.stderr.write(
    `imported ${progress.sent}/${progress.lines} (${share} %), accepted ${progress.accepted}, rejected ${progress.rejected}, ${rate} events/s\n`,
  )
}

const [file, ...extra] = positionals
if (!file || extra.length > 0) usage('expected one FILE')
const { lines, rejected: local } = await linesOf(file)
const rejectionsFile = values.rejections
if (rejectionsFile)
  await writeFile(rejectionsFile, local.map((rejection) => `${JSON.stringify(rejection)}\n`).join(''))
for (const rejection of local) {
  process.stderr.write(`line ${rejection.line}: ${rejection.reason}: ${rejection.errors[0]?.message ?? ''}\n`)
}
let lastSaid = 0
try {
  const result = await sendImport(lines, {
    url: values.url,
    key: await keyToUse(),
    rate: positiveInt('rate', values.rate),
    batchSize: positiveInt('batch', values.batch),
    onProgress: (progress) => {
      if (Date.now() - lastSaid < 1000 && progress.sent < progress.lines) return
      lastSaid = Date.now()
      say(progress)
    },
    onRejection: (rejection) => {
      if (rejectionsFile) appendFileSync(rejectionsFile, `${JSON.stringify(rejection)}\n`)
    },
  })
  // Rows rejected before sending count as rejected too, under their own reason.
  const summary = {
    file,
    ...result,
    lines: result.lines + local.length,
    rejected: result.rejected + local.length,
    reasons: local.length > 0 ? { ...result.reasons, malformed_csv: local.length } : result.reasons,
  }
  process.stdout.write(`${JSON.stringify(summary)}\n`)
  process.exit(summary.rejected > 0 ? 1 : 0)
} catch (error) {
  process.stderr.write(`cpi import: stopped: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(3)
}
