// API query latency over a large history: SYNTHETIC_EVENTS (10 million) events and their
// outcomes are generated inside ClickHouse (bench/synthetic-load.ts, shaped like the pipeline's
// output but not produced by it), then the all-in-one process serves the API on that data
// (simulator off, no ingestion) and autocannon drives the catalog, a series and a drill-down.
// Prints a table and writes bench/results/query-<timestamp>.json. Options (environment):
// SYNTHETIC_EVENTS, BENCH_SECONDS (15), BENCH_CONNECTIONS (8), KAFKA_BROKERS.
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { loadRoutes, type RouteResult, routeRows, standardTargets } from './route-load.ts'
import {
  benchBrokers,
  benchDatabase,
  freePort,
  machine,
  root,
  waitUntilReady,
  writeResult,
} from './support.ts'

export async function measureQueryLatency(options: {
  brokers: string
  events: number
  seconds: number
  connections: number
}): Promise<{ events: number; outcomes: number; loadSeconds: number; results: Record<string, RouteResult> }> {
  const stamp = Date.now()
  const dataDir = path.join(root, `.data/bench/query-${stamp}`)
  const database = benchDatabase('query', dataDir, stamp)
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(root, 'bench/synthetic-load.ts'), String(options.events)],
      { maxBuffer: 1024 * 1024, env: { ...process.env, ...database.env } },
    )
    const loaded = JSON.parse(stdout.trim().split('\n').at(-1) as string) as {
      events: number
      outcomes: number
      seconds: number
    }
    const port = await freePort()
    const app = spawn(process.execPath, [path.join(root, 'services/all-in-one/src/main.ts')], {
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        KAFKA_BROKERS: options.brokers,
        CPI_EVENTS_TOPIC: `bench.query.${stamp}`,
        CPI_DEAD_LETTER_TOPIC: `bench.query.${stamp}.dlq`,
        CPI_ALERTS_TOPIC: `bench.query.${stamp}.alerts`,
        CPI_PROCESSOR_GROUP: `bench-query-${stamp}`,
        CPI_DATA_DIR: dataDir,
        ...database.env,
        CPI_SIMULATOR: 'off',
        CPI_ALERTER: 'off',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    })
    const url = `http://127.0.0.1:${port}`
    await waitUntilReady(url, 'the all-in-one process')
    const results = await loadRoutes(url, standardTargets, options)
    app.kill('SIGTERM')
    await once(app, 'exit')
    return { events: loaded.events, outcomes: loaded.outcomes, loadSeconds: loaded.seconds, results }
  } finally {
    await rm(dataDir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  const { brokers, stop } = await benchBrokers()
  const events = Number(process.env.SYNTHETIC_EVENTS ?? 10_000_000)
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 8)
  const seconds = Number(process.env.BENCH_SECONDS ?? 15)
  const measured = await measureQueryLatency({ brokers, events, seconds, connections })
  await stop()
  const result = {
    benchmark: 'query-latency',
    at: new Date().toISOString(),
    machine: machine(),
    settings: { connections, seconds },
    ...measured,
  }
  const file = await writeResult('query', result)
  process.stdout.write(
    [
      '',
      `API query latency over ${measured.events} stored events (${measured.outcomes} outcomes, synthetic history loaded in ${measured.loadSeconds} s), ${connections} concurrent clients, ${seconds} s per route`,
      ...routeRows(measured.results),
      `  written to    ${file}`,
      '',
    ].join('\n'),
  )
}
