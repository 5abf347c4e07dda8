// API latency under concurrent load: the all-in-one process (its own process, as `npm start`
// runs it) backfills BENCH_HOURS of simulated history through Kafka into the embedded engine,
// keeps ingesting live, and autocannon drives the catalog, a series and a drill-down with
// BENCH_CONNECTIONS concurrent keep-alive clients for BENCH_SECONDS each. Prints a table and
// writes bench/results/api-<timestamp>.json. Options (environment): BENCH_HOURS (24),
// BENCH_RATE (2 interactions/s), BENCH_SECONDS (15), BENCH_CONNECTIONS (8), KAFKA_BROKERS.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { createKafka } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { benchBrokers, freePort, machine, percentile, root, writeResult } from './support.ts'

interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void
  then: Promise<{ errors: number; non2xx: number; requests: { total: number }; duration: number }>['then']
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string
  connections: number
  duration: number
  requests?: { setupRequest: (request: { path: string }) => { path: string } }[]
}) => AutocannonInstance

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

// The same URL from many clients shares one read a second (services/api/src/read-cache.ts), as
// dashboards open on the same view do; the "distinct" rows give every request its own range,
// so each one is a query of its own against the engine.
let unique = Date.now() - 1000
const distinct = (route: string) => [
  { setupRequest: (request: { path: string }) => ({ ...request, path: `${route}&to=${unique++}` }) },
]
const targets: Record<string, { route: string; distinct?: boolean }> = {
  catalog: { route: '/v1/cpis' },
  series: { route: '/v1/cpis/fast_quote?from=now-24h&step=1h' },
  drillDown: { route: '/v1/cpis/fast_quote?from=now-6h&step=5m&by=channel' },
  seriesDistinct: { route: '/v1/cpis/fast_quote?from=now-24h&step=1h', distinct: true },
  drillDownDistinct: { route: '/v1/cpis/fast_quote?from=now-6h&step=5m&by=channel', distinct: true },
}
const results: Record<string, unknown> = {}
for (const [name, { route, distinct: isDistinct }] of Object.entries(targets)) {
  const times: number[] = []
  const instance = autocannon({
    url: `${url}${route}`,
    connections,
    duration: seconds,
    ...(isDistinct ? { requests: distinct(route) } : {}),
  })
  instance.on('response', (_client, _status, _bytes, ms) => {
    times.push(ms)
  })
  const outcome = await instance
  times.sort((a, b) => a - b)
  results[name] = {
    route,
    requests: outcome.requests.total,
    requestsPerSecond: Math.round(outcome.requests.total / outcome.duration),
    latencyMs: {
      p50: Number(percentile(times, 50).toFixed(1)),
      p95: Number(percentile(times, 95).toFixed(1)),
      p99: Number(percentile(times, 99).toFixed(1)),
    },
    errors: outcome.errors,
    non2xx: outcome.non2xx,
  }
}

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
  results,
}
const file = await writeResult('api', result)
const rows = Object.entries(results).map(([name, value]) => {
  const r = value as {
    requestsPerSecond: number
    latencyMs: { p50: number; p95: number; p99: number }
    non2xx: number
    errors: number
  }
  return `  ${name.padEnd(18)} ${String(r.requestsPerSecond).padStart(6)} req/s   p50 ${r.latencyMs.p50} ms   p95 ${r.latencyMs.p95} ms   p99 ${r.latencyMs.p99} ms   non-2xx ${r.non2xx}, errors ${r.errors}`
})
process.stdout.write(
  [
    '',
    `API latency, all-in-one process, embedded engine, ${connections} concurrent clients, ${seconds} s per route`,
    `  stored        ${storedEvents} events (${hours} h backfill at ${rate} interactions/s, loaded in ${Math.round(loadSeconds)} s), live ingestion running`,
    ...rows,
    `  written to    ${file}`,
    '',
  ].join('\n'),
)
