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
import { loadRoutes, routeRows, standardTargets } from './route-load.ts'
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

const results = await loadRoutes(url, standardTargets, { connections, seconds })
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
    '  analytics (one client, every request a distinct read):',
    ...analyticsRows(analytics),
    `  written to    ${file}`,
    '',
  ].join('\n'),
)
