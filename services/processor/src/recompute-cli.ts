// `cpi recompute --cpi NAME --from T --to T [--catalog file.json,…]`: after a definition changed,
// re-derive that CPI's outcomes for interactions that started in [from, to) from the raw events.
// Uses the same ClickHouse settings as the services (CLICKHOUSE_URL, or the embedded engine at
// CLICKHOUSE_PATH, which must not be open in a running all-in-one process at the same time).
import { parseArgs } from 'node:util'
import { createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { loadConfigOrExit } from '@cpi/config'
import { builtinCatalogFile, loadCatalog } from '@cpi/cpi-core'
import { recompute } from './recompute.ts'

const { values } = parseArgs({
  options: {
    cpi: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    catalog: { type: 'string' },
  },
})
const fail = (message: string): never => {
  console.error(`cpi recompute: ${message}`)
  process.exit(2)
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
})
await clickhouse.close()
process.stdout.write(
  `${JSON.stringify({ ...report, seconds: Number(((performance.now() - started) / 1000).toFixed(2)) }, null, 2)}\n`,
)
