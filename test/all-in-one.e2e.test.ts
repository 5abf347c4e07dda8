import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort, testEnvironment, uniqueName } from './support/environment.ts'

const main = path.resolve(import.meta.dirname, '../services/all-in-one/src/main.ts')
const running: ChildProcess[] = []

function environmentFor(port: number, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  const { clickhouse, kafkaBrokers } = testEnvironment()
  return {
    ...process.env,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    CPI_SIMULATOR: 'off',
    CPI_DATA_DIR: path.join(tmpdir(), uniqueName('cpi-data')),
    CPI_EVENTS_TOPIC: uniqueName('events'),
    CPI_DEAD_LETTER_TOPIC: uniqueName('dlq'),
    CPI_PROCESSOR_GROUP: uniqueName('processor'),
    KAFKA_BROKERS: kafkaBrokers.join(','),
    CLICKHOUSE_DATABASE: uniqueName('aio'),
    ...(clickhouse.kind === 'http'
      ? {
          CLICKHOUSE_URL: clickhouse.url,
          CLICKHOUSE_USER: clickhouse.username,
          CLICKHOUSE_PASSWORD: clickhouse.password,
        }
      : { CLICKHOUSE_PATH: path.join(clickhouse.dataRoot, uniqueName('aio')) }),
    ...overrides,
  }
}

function start(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  running.push(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  return { child, output: () => output }
}

async function get(port: number, route: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}${route}`)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function waitUntilAlive(port: number): Promise<void> {
  const status = () =>
    get(port, '/healthz')
      .then((response) => response.status)
      .catch(() => 0)
  await expect.poll(status, { timeout: 30_000 }).toBe(200)
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
})

describe('the all-in-one process', () => {
  it('serves /healthz, /readyz, the dashboard and the query API on one port, ready when Kafka and ClickHouse answer; SIGTERM exits 0 with a live stream open', async () => {
    const port = await freePort()
    const app = start(environmentFor(port))
    await waitUntilAlive(port)
    // Consumers join their groups shortly after the port opens.
    await expect.poll(() => get(port, '/readyz').then((r) => r.status), { timeout: 30_000 }).toBe(200)
    const ready = await get(port, '/readyz')
    expect(ready).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: [
          { name: 'kafka', ok: true, ms: expect.any(Number) },
          { name: 'clickhouse', ok: true, ms: expect.any(Number) },
          { name: 'consumers', ok: true, ms: expect.any(Number) },
          { name: 'pipeline', ok: true, ms: expect.any(Number), advisory: true },
        ],
      },
    })
    expect(app.output()).toContain(`http://127.0.0.1:${port}/readyz`)
    expect(app.output()).toContain(`dashboard   http://127.0.0.1:${port}/`)

    // The dashboard and the query API run in the same process, on the same port.
    const page = await fetch(`http://127.0.0.1:${port}/`)
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    const catalog = await get(port, '/v1/cpis')
    expect(catalog.status).toBe(200)
    expect((catalog.body.cpis as unknown[]).length).toBe(9)
    expect((await get(port, '/v1/alerts')).body).toEqual({ alerts: [] })
    // An open Server-Sent Events stream does not keep the process from stopping.
    const stream = await fetch(`http://127.0.0.1:${port}/v1/stream`)
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/)
    app.child.kill('SIGTERM')
    const [code] = await once(app.child, 'exit')
    expect(code).toBe(0)
    await stream.body?.cancel().catch(() => undefined)
  })

  it('generates an ingest key once in local mode, and processes what is posted with it', async () => {
    const port = await freePort()
    const env = environmentFor(port)
    const app = start(env)
    await waitUntilAlive(port)
    const key = (await readFile(path.join(env.CPI_DATA_DIR as string, 'ingest-key'), 'utf8')).trim()
    expect(app.output()).toContain(key) // printed on the start that created it
    const event = {
      specversion: '1.0',
      id: uniqueName('e2e'),
      source: '/e2e',
      type: 'call.queued',
      time: new Date().toISOString(),
      subject: 'C-e2e',
      data: { queue: 'claims' },
    }
    const response = await fetch(`http://127.0.0.1:${port}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(event),
    })
    expect(response.status).toBe(200)
    const processed = async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
      return Number(/cpi_processor_events_total\{outcome="ok"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0)
    }
    await expect.poll(processed, { timeout: 30_000 }).toBe(1)
    app.child.kill('SIGTERM')
    await once(app.child, 'exit')

    // A second start with the same data directory reuses the key and does not print it.
    const again = start(env)
    await waitUntilAlive(port)
    expect(again.output()).not.toContain(key)
  })

  it('is alive but not ready when Kafka cannot be reached, and says which dependency is down', async () => {
    const port = await freePort()
    start(
      environmentFor(port, {
        KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
        CPI_READY_CHECK_TIMEOUT_MS: '1000',
      }),
    )
    await waitUntilAlive(port)
    const ready = await get(port, '/readyz')
    expect(ready.status).toBe(503)
    expect(ready.body.checks).toEqual([
      { name: 'kafka', ok: false, ms: expect.any(Number) },
      { name: 'clickhouse', ok: true, ms: expect.any(Number) },
      { name: 'consumers', ok: false, ms: expect.any(Number) },
      { name: 'pipeline', ok: true, ms: expect.any(Number), advisory: true },
    ])
  })

  it('refuses to start on bad configuration, naming the variable, with exit code 2', async () => {
    const app = start(environmentFor(await freePort(), { PORT: 'eighty' }))
    const [code] = await once(app.child, 'exit')
    expect(code).toBe(2)
    expect(app.output()).toMatch(/PORT: .*\(got "eighty"\)/)
  })
})
