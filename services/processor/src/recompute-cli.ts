// `cpi recompute --cpi NAME --from T --to T [--catalog file.json,…] [--include-late]`: re-derive
// a CPI's outcomes for interactions that started in [from, to) from the raw events, after its
// definition changed or to bring in events stored beyond the revision horizon.
// Uses the same ClickHouse settings as the services (CLICKHOUSE_URL, or the embedded engine at
// CLICKHOUSE_PATH, which must not be open in a running all-in-one process at the same time).
import { parseArgs } from 'node:util'
import { createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfigOrExit } from '@cpi/config'
import { builtinCatalogFile, loadCatalog } from '@cpi/cpi-core'
import { recompute } from './recompute.ts'

const usage = `usage: cpi recompute --cpi NAME --from T --to T [--catalog FILE,…] [--include-late]

Re-derives one CPI's outcomes for the interactions that started in [from, to) from the raw
events in ClickHouse, through the live code path, each partition as of its recorded watermark.

  --cpi NAME        the CPI, as defined by the built-in catalog, CPI_CATALOG_FILES and --catalog
  --from T, --to T  RFC 3339 times (2026-11-01T00:00:00Z), from before to
  --catalog FILES   more catalog files, comma-separated: a changed definition (higher version)
  --include-late    bring in those interactions' events stored beyond the revision horizon
                    (too_late = 1; "N events beyond the horizon" on the dashboard, GET
                    /v1/freshness): their flag is cleared, so this recompute and every later
                    one counts them. The flag is the event's: other CPIs of the same
                    interactions count them from their next recomputation (or recompute them).
  --help            this text

Prints a JSON report: interactions, outcomes written, lateEventsIncluded, partitions.
`

const fail = (message: string): never => {
  process.stderr.write(`cpi recompute: ${message}\n\n${usage}`)
  process.exit(2)
}
const options = {
  cpi: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  catalog: { type: 'string' },
  'include-late': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const
const { values } = (() => {
  try {
    return parseArgs({ options })
  } catch (error) {
    return fail((error as Error).message) // an unknown option or a missing value
  }
})()
if (values.help) {
  process.stdout.write(usage)
  process.exit(0)
}
const config = loadConfigOrExit()
if (!values.cpi) fail('expected --cpi NAME')
const from = Date.parse(values.from ?? '')
const to = Date.parse(values.to ?? '')
if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to)
  fail('expected --from and --to as RFC 3339 times, from before to')
const files = [
  builtinCatalogFile,
  ...config.processor.catalogFiles,
  ...(values.catalog ? values.catalog.split(',') : []),
]
const catalog = await loadCatalog(files)
const definition = catalog.find((candidate) => candidate.name === values.cpi)
if (!definition)
  fail(`no CPI named ${values.cpi}; the catalog has ${catalog.map((candidate) => candidate.name).join(', ')}`)

const clickhouse = createClickHouse(config.clickhouse)
await migrateToLatest(clickhouse)
const started = performance.now()
const report = await recompute({
  clickhouse,
  definition: definition as NonNullable<typeof definition>,
  topic: config.topics.events,
  from,
  to,
  includeLate: values['include-late'],
})
await clickhouse.close()
process.stdout.write(
  `${JSON.stringify({ ...report, seconds: Number(((performance.now() - started) / 1000).toFixed(2)) }, null, 2)}\n`,
)
