// API latency under concurrent load: the all-in-one process (its own process, as `npm start`
// runs it) backfills BENCH_HOURS of simulated history through Kafka into the embedded engine,
// keeps ingesting live, and autocannon drives the catalog, a series and a drill-down with
// BENCH_CONNECTIONS concurrent keep-alive clients for BENCH_SECONDS each. Prints a table and
// writes bench/results/api-<timestamp>.json. Options (environment): BENCH_HOURS (24),
// BENCH_RATE (2 interactions/s), BENCH_SECONDS (15), BENCH_CONNECTIONS (8), KAFKA_BROKERS.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { createKafka } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { analyticsRows, measureAnalytics } from './analytics-latency.ts'
import { loadRoutes, type RouteResult, routeRows, standardTargets } from './route-load.ts'
import { benchBrokers, freePort, machine, root, writeResult } from './support.ts'

const hours = Number(process.env.BENCH_HOURS ?? 24)
const rate = Number(process.env.BENCH_RATE ?? 2)
const seconds = Number(process.env.BENCH_SECONDS ?? 15)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8)
const logger = createLogger({ service: 'bench', level: 'warn' })

const { brokers, stop: stopBroker } = await benchBrokers()
const stamp = Date.now()
const dataDir = path.join(root, `.data/bench/api-${stamp}`)
const topic = `bench.api.${stamp}`
const port = await freePort()
const app = spawn(process.execPath, [path.join(root, 'services/all-in-one/src/main.ts')], {
  env: {
    ...process.env,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokers,
    CPI_EVENTS_TOPIC: topic,
    CPI_DEAD_LETTER_TOPIC: `${topic}.dlq`,
    CPI_ALERTS_TOPIC: `${topic}.alerts`,
    CPI_PROCESSOR_GROUP: `bench-api-${stamp}`,
    CPI_DATA_DIR: dataDir,
    CLICKHOUSE_PATH: path.join(dataDir, 'clickhouse'),
    CPI_SIMULATOR: 'on',
    CPI_SIMULATOR_TARGET: 'kafka',
    CPI_SIMULATOR_RATE: String(rate),
    CPI_SIMULATOR_BACKFILL_HOURS: String(hours),
  },
  stdio: ['ignore', 'ignore', 'inherit'],
})
const url = `http://127.0.0.1:${port}`
const json = async (route: string) =>
  (await fetch(`${url}${route}`)).json() as Promise<Record<string, unknown>>

// Loaded: the backfill is in Kafka and consumed, the watermark is near the wall clock.
const loadStarted = performance.now()
for (let attempt = 0; ; attempt++) {
  const freshness = await json('/v1/freshness').catch(() => undefined)
  const watermark = typeof freshness?.watermark === 'string' ? Date.parse(freshness.watermark) : 0
  // Live ingestion keeps a little lag: caught up means under a second or so of it.
  const lag = typeof freshness?.consumerLag === 'number' ? freshness.consumerLag : Number.POSITIVE_INFINITY
  if (lag < 1000 && Date.now() - watermark < 120_000) break
  if (attempt % 20 === 0)
    process.stderr.write(
      `loading: lag ${String(freshness?.consumerLag)}, watermark ${String(freshness?.watermark)}\n`,
    )
  if (attempt > 3600) throw new Error('the backfill did not finish within an hour')
  await new Promise((resolve) => setTimeout(resolve, 1000))
}
const loadSeconds = (performance.now() - loadStarted) / 1000
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench', logger })
const admin = kafka.admin()
await admin.connect()
const storedEvents = (await admin.fetchTopicOffsets(topic)).reduce(
  (sum, entry) => sum + Number(entry.high),
  0,
)
await admin.disconnect()

// The processor's write time per group (its events, outcomes and rollup rows made durable) while
// nothing reads, then while each route is loaded: what the readers cost live ingestion in one process.
const idle = await processorWrites(url, () => new Promise((resolve) => setTimeout(resolve, seconds * 1000)))
const results: Record<string, RouteResult & { processorWrites: ProcessorWrites }> = {}
for (const [name, target] of Object.entries(standardTargets)) {
  let loaded: RouteResult | undefined
  const writes = await processorWrites(url, async () => {
    loaded = (await loadRoutes(url, { [name]: target }, { connections, seconds }))[name]
  })
  results[name] = { ...(loaded as RouteResult), processorWrites: writes }
}
const analytics = await measureAnalytics(url)

app.kill('SIGTERM')
await once(app, 'exit')
await stopBroker()
await rm(dataDir, { recursive: true, force: true })

const result = {
  benchmark: 'api-latency',
  at: new Date().toISOString(),
  machine: machine(),
  settings: { hours, rate, seconds, connections, engine: 'embedded (chDB)', ingestingDuringLoad: true },
  storedEvents,
  loadSeconds: Math.round(loadSeconds),
  processorWritesIdle: idle,
  results,
  analytics,
}
const file = await writeResult('api', result)
const rows = routeRows(results)
process.stdout.write(
  [
    '',
    `API latency, all-in-one process, embedded engine, ${connections} concurrent clients, ${seconds} s per route`,
    `  stored        ${storedEvents} events (${hours} h backfill at ${rate} interactions/s, loaded in ${Math.round(loadSeconds)} s), live ingestion running`,
    ...rows,
    `  processor writes per group, idle: ${idle.groups} groups, mean ${idle.meanMs} ms, max bucket ${idle.slowestBucket}`,
    ...Object.entries(results).map(
      ([name, r]) =>
        `  processor writes per group, under ${name.padEnd(18)} ${r.processorWrites.groups} groups, mean ${r.processorWrites.meanMs} ms, max bucket ${r.processorWrites.slowestBucket}`,
    ),
    '  analytics (one client, every request a distinct read):',
    ...analyticsRows(analytics),
    `  written to    ${file}`,
    '',
  ].join('\n'),
)

interface ProcessorWrites {
  groups: number
  meanMs: number
  /** The upper bound of the histogram bucket the slowest group of the window fell in (e.g. "≤ 0.5 s"). */
  slowestBucket: string
}

/** `cpi_processor_write_seconds` from the process's /metrics: its sum, count and buckets (upper bound → count). */
async function writeHistogram(base: string) {
  const text = await (await fetch(`${base}/metrics`)).text()
  const value = (line: string) => Number(line.slice(line.lastIndexOf(' ') + 1))
  let sum = 0
  let count = 0
  const buckets = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line.startsWith('cpi_processor_write_seconds_sum')) sum += value(line)
    else if (line.startsWith('cpi_processor_write_seconds_count')) count += value(line)
    else if (line.startsWith('cpi_processor_write_seconds_bucket')) {
      const le = /le="([^"]+)"/.exec(line)?.[1] ?? ''
      buckets.set(le, (buckets.get(le) ?? 0) + value(line))
    }
  }
  return { sum, count, buckets }
}

/** The groups the processor wrote while `during` ran, their mean write time and the slowest one's bucket. */
async function processorWrites(base: string, during: () => Promise<unknown>): Promise<ProcessorWrites> {
  const before = await writeHistogram(base)
  await during()
  const after = await writeHistogram(base)
  const groups = after.count - before.count
  let slowestBucket = 'none'
  for (const [le, total] of after.buckets)
    if (total - (before.buckets.get(le) ?? 0) === groups && groups > 0) {
      slowestBucket = `≤ ${le} s`
      break
    }
  const meanMs = groups === 0 ? 0 : Math.round(((after.sum - before.sum) / groups) * 1000 * 10) / 10
  return { groups, meanMs, slowestBucket }
}
