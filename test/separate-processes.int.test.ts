import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { httpSink, parseScenario, sendAll, simulate } from '@cpi/simulator'
import { describe, expect } from 'vitest'
import { freePort, testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal } from './support/ledger.ts'
import { topicSize } from './support/topic-reader.ts'

// The production shape, here: ingest, two processors in one consumer group, the alerter and the
// API each a process of its own, against the real broker and one database served over
// ClickHouse's HTTP interface (the embedded engine behind the development-aid server,
// packages/clickhouse/bin/engine-server.ts — no ClickHouse server on this machine). The same
// simulator stream also goes through the all-in-one process on its own embedded engine: every
// CPI, window by window, must come out the same.

const root = path.resolve(import.meta.dirname, '..')
const HOUR = 3_600_000
const KEY = 'separate-processes-ingest-key-0123'

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies, each checked by the assertions
type Json = Record<string, any>

interface Child {
  name: string
  process: ChildProcess
  output: string[]
}

const began = Date.now()
/** Progress on stdout, so a slow step shows where the time went. */
const step = (what: string) =>
  process.stdout.write(`[separate-processes] ${((Date.now() - began) / 1000).toFixed(1)} s: ${what}\n`)

let logDir = tmpdir()

function start(name: string, script: string, env: Record<string, string>, args: string[] = []): Child {
  const child = spawn(process.execPath, [path.join(root, script), ...args], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_OPTIONS: process.env.NODE_OPTIONS ?? '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output: string[] = []
  const log = createWriteStream(path.join(logDir, `${name}.log`))
  const keep = (chunk: Buffer) => {
    log.write(chunk)
    output.push(chunk.toString())
    if (output.length > 200) output.shift()
  }
  // A worker killed by a timeout runs no finally: its children must not outlive it.
  process.once('exit', () => child.kill('SIGKILL'))
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  return { name, process: child, output }
}

async function ready(child: Child, url: string, timeoutMs = 90_000) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.process.exitCode !== null)
      throw new Error(
        `${child.name} exited ${child.process.exitCode}:\n${child.output.join('').slice(-3000)}`,
      )
    const status = await fetch(url)
      .then((response) => response.status)
      .catch(() => 0)
    if (status === 200) return
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
  throw new Error(
    `${child.name} not ready at ${url} within ${timeoutMs} ms:\n${child.output.join('').slice(-3000)}`,
  )
}

async function stop(child: Child) {
  if (child.process.exitCode !== null) return child.process.exitCode
  const exited = new Promise<number | null>((resolve) => child.process.once('exit', (code) => resolve(code)))
  child.process.kill('SIGTERM')
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 20_000)
  const code = await exited
  clearTimeout(timer)
  return code
}

describe('separate processes against one database over HTTP, and the all-in-one process', () => {
  it('ingest, two processors, the alerter and the API as processes give the same CPIs as the all-in-one process', async ({
    kafka,
    createTopic,
  }) => {
    const { kafkaBrokers } = testEnvironment()
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpi-separate-'))
    logDir = await mkdtemp(path.join(tmpdir(), 'cpi-separate-logs-'))
    step(`process logs in ${logDir}`)
    const children: Child[] = []
    let passed = false
    try {
      // One database over HTTP for the separate processes.
      const enginePort = await freePort()
      const engine = start('engine-server', 'packages/clickhouse/bin/engine-server.ts', {}, [
        '--path',
        path.join(dataDir, 'engine'),
        '--port',
        String(enginePort),
      ])
      children.push(engine)
      await ready(engine, `http://127.0.0.1:${enginePort}/ping`)
      step('engine server up')

      const separate = {
        events: await createTopic('separate_events', 3),
        deadLetter: await createTopic('separate_dlq', 1),
        alerts: await createTopic('separate_alerts', 1),
        group: uniqueName('separate_processor'),
      }
      const common = {
        LOG_LEVEL: process.env.SEPARATE_LOG_LEVEL ?? 'warn',
        HOST: '127.0.0.1',
        KAFKA_BROKERS: kafkaBrokers.join(','),
        CLICKHOUSE_URL: `http://127.0.0.1:${enginePort}`,
        CLICKHOUSE_USER: 'default',
        CLICKHOUSE_PASSWORD: '',
        CLICKHOUSE_DATABASE: uniqueName('separate'),
        CPI_EVENTS_TOPIC: separate.events,
        CPI_DEAD_LETTER_TOPIC: separate.deadLetter,
        CPI_ALERTS_TOPIC: separate.alerts,
        CPI_PROCESSOR_GROUP: separate.group,
        CPI_INGEST_KEYS: KEY,
        // The history is hours old: the watermark follows the events only (no wall-clock advance).
        CPI_IDLE_AFTER_MS: String(10 * 365 * 24 * HOUR),
        CPI_DATA_DIR: dataDir,
      }
      const service = async (name: string, script: string, readyPath = '/readyz') => {
        const port = await freePort()
        const child = start(name, script, { ...common, PORT: String(port) })
        children.push(child)
        await ready(child, `http://127.0.0.1:${port}${readyPath}`)
        return `http://127.0.0.1:${port}`
      }
      // The first processor applies the migrations; the second joins its consumer group.
      await service('processor-1', 'services/processor/src/main.ts')
      await service('processor-2', 'services/processor/src/main.ts')
      const ingestUrl = await service('ingest', 'services/ingest/src/main.ts')
      const alerterUrl = await service('alerter', 'services/alerter/src/main.ts')
      const apiUrl = await service('api', 'services/api/src/main.ts')
      step('separate services ready')

      // The all-in-one process, on its own embedded engine and topics.
      const allPort = await freePort()
      const allInOneTopics = {
        events: await createTopic('aio_events', 3),
        group: uniqueName('aio_processor'),
      }
      const { CLICKHOUSE_URL: _overHttp, ...embedded } = common
      const allInOne = start('all-in-one', 'services/all-in-one/src/main.ts', {
        ...embedded,
        CLICKHOUSE_PATH: path.join(dataDir, 'all-in-one'),
        CLICKHOUSE_DATABASE: 'cpi',
        CPI_EVENTS_TOPIC: allInOneTopics.events,
        CPI_DEAD_LETTER_TOPIC: await createTopic('aio_dlq', 1),
        CPI_ALERTS_TOPIC: await createTopic('aio_alerts', 1),
        CPI_PROCESSOR_GROUP: allInOneTopics.group,
        CPI_SIMULATOR: 'off',
        CPI_DATA_DIR: path.join(dataDir, 'aio-data'),
        PORT: String(allPort),
      })
      children.push(allInOne)
      const allInOneUrl = `http://127.0.0.1:${allPort}`
      await ready(allInOne, `${allInOneUrl}/readyz`)
      step('all-in-one ready')

      // Both processors are members of one group, sharing the partitions.
      const admin = kafka.admin()
      await admin.connect()
      await expect
        .poll(async () => (await admin.describeGroups([separate.group])).groups[0]?.members.length ?? 0, {
          timeout: 60_000,
          interval: 500,
        })
        .toBe(2)
      await admin.disconnect()

      // The same simulated two hours through each ingest gateway over HTTP.
      // 100 days back, so the follow-ups (orders, churn: up to 60 days on) are past too: the
      // gateways accept every event (none is in the future).
      const start0 = Math.floor((Date.now() - 100 * 24 * HOUR) / HOUR) * HOUR
      const simulation = simulate(parseScenario({ seed: 81, ratePerSecond: 2, malformedShare: 0 }), {
        from: start0,
        to: start0 + 2 * HOUR,
      })
      await sendAll(simulation.events, httpSink({ url: ingestUrl, key: KEY }))
      step('sent through the separate gateway')
      await sendAll(simulation.events, httpSink({ url: allInOneUrl, key: KEY }))
      step('sent through the all-in-one gateway')
      for (const [group, topic] of [
        [separate.group, separate.events],
        [allInOneTopics.group, allInOneTopics.events],
      ] as const) {
        const total = await topicSize(kafka, topic)
        expect(total).toBe(simulation.events.length)
        await expect
          .poll(() => committedTotal(kafka, group, topic), { timeout: 240_000, interval: 500 })
          .toBe(total)
      }

      const get = async (base: string, route: string) => {
        const response = await fetch(`${base}${route}`)
        expect(response.status, `${base}${route}`).toBe(200)
        return (await response.json()) as Json
      }
      // Both pipelines stand at the same watermark (the same events on the same partitions).
      const watermarks = async (base: string) =>
        (await get(base, '/v1/freshness')).partitions.map((p: Json) => p.watermark).sort()
      await expect
        .poll(
          async () => {
            const [separateMarks, allInOneMarks] = await Promise.all([
              watermarks(apiUrl),
              watermarks(allInOneUrl),
            ])
            return (
              separateMarks.length === 3 && JSON.stringify(separateMarks) === JSON.stringify(allInOneMarks)
            )
          },
          { timeout: 60_000, interval: 500 },
        )
        .toBe(true)
      step('both pipelines at the same watermarks')

      // Every service process started the same way: the declared ClickHouse statements it ran
      // are timed by name on its /metrics (the alerter reads and writes its checkpoint).
      const metrics = await (await fetch(`${alerterUrl}/metrics`)).text()
      expect(metrics).toMatch(
        /cpi_clickhouse_statement_seconds_count\{[^}]*statement="reading an alerter checkpoint"[^}]*outcome="ok"[^}]*\} [1-9]/,
      )

      // Every CPI, per 10-minute window and segment, from both APIs: the same.
      const from = new Date(start0).toISOString()
      const to = new Date(start0 + 2 * HOUR).toISOString()
      const catalog = (await get(apiUrl, '/v1/cpis')).cpis as Json[]
      expect(catalog.length).toBeGreaterThanOrEqual(7)
      let compared = 0
      for (const { name, dimensions } of catalog) {
        // By each CPI's first segment dimension: every segment value's series, window by window.
        const route = `/v1/cpis/${name}?from=${from}&to=${to}&step=10m&by=${dimensions[0]}`
        // Each API follows the rollup's changes twice a second: equal once both have.
        let a: Json = {}
        await expect
          .poll(
            async () => {
              const [one, other] = await Promise.all([get(apiUrl, route), get(allInOneUrl, route)])
              a = one
              return JSON.stringify(one.series) === JSON.stringify(other.series)
            },
            { timeout: 15_000, interval: 500 },
          )
          .toBe(true)
        compared += a.series.reduce(
          (sum: number, series: Json) =>
            sum + series.points.reduce((n: number, p: Json) => n + p.total + p.pending, 0),
          0,
        )
      }
      // Not two empty answers: thousands of outcomes were compared.
      expect(compared).toBeGreaterThan(5000)
      process.stdout.write(
        `[separate-processes] ${simulation.events.length} events each way, ${compared} outcome × segment values equal across ${catalog.length} CPIs\n`,
      )

      // Every process stops cleanly on SIGTERM.
      for (const child of [...children].reverse()) expect(await stop(child), child.name).toBe(0)
      passed = true
    } finally {
      for (const child of children) if (child.process.exitCode === null) child.process.kill('SIGKILL')
      await rm(dataDir, { recursive: true, force: true })
      // The processes' logs stay when the test failed.
      if (passed) await rm(logDir, { recursive: true, force: true })
    }
  }, 600_000)
})
