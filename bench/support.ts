// Shared by the benchmarks: a free port, the local broker, machine details, percentiles, results.
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { ClickHouseSettings } from '@cpi/clickhouse'

const run = promisify(execFile)
export const root = path.resolve(import.meta.dirname, '..')

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  return typeof address === 'object' && address ? address.port : 0
}

/** KAFKA_BROKERS when set, else the local broker on port 19192 (started here, stopped by `stop`). */
export async function benchBrokers(): Promise<{ brokers: string; stop: () => Promise<unknown> }> {
  if (process.env.KAFKA_BROKERS) return { brokers: process.env.KAFKA_BROKERS, stop: async () => undefined }
  const env = { ...process.env, KAFKA_PORT: '19192', KAFKA_DATA_DIR: path.join(root, '.data/bench/kafka') }
  await run('bash', [path.join(root, 'infra/kafka/kafka.sh'), 'start'], { env })
  return {
    brokers: '127.0.0.1:19192',
    stop: () => run('bash', [path.join(root, 'infra/kafka/kafka.sh'), 'stop'], { env }),
  }
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
  }
}

/** The p-th percentile (nearest rank) of values sorted ascending. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}

/** Writes bench/results/<name>-<timestamp>.json and returns its path relative to the repository. */
export async function writeResult(name: string, result: { at: string }): Promise<string> {
  const file = path.join(root, 'bench/results', `${name}-${result.at.replace(/[:.]/g, '-')}.json`)
  await mkdir(path.dirname(file), { recursive: true })
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`)
  return path.relative(root, file)
}

/** Polls `<url>/readyz` until it answers 200 (a minute at most). */
export async function waitUntilReady(url: string, what: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const status = await fetch(`${url}/readyz`).then(
      (response) => response.status,
      () => 0,
    )
    if (status === 200) return
    if (attempt > 600) throw new Error(`${what} did not become ready`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * Where a benchmark keeps a database: the embedded engine under `dataDir/<name>`, or — with
 * CLICKHOUSE_URL set — a database `bench_<name>_<stamp>` on that server. `env` is what a child
 * process of the product needs to use the same one.
 */
export function benchDatabase(name: string, dataDir: string, stamp: number) {
  const url = process.env.CLICKHOUSE_URL
  if (url) {
    const database = `bench_${name}_${stamp}`
    const username = process.env.CLICKHOUSE_USER ?? 'default'
    const password = process.env.CLICKHOUSE_PASSWORD ?? ''
    return {
      settings: { kind: 'http' as const, url, username, password, database },
      env: {
        CLICKHOUSE_URL: url,
        CLICKHOUSE_USER: username,
        CLICKHOUSE_PASSWORD: password,
        CLICKHOUSE_DATABASE: database,
      },
    }
  }
  const enginePath = path.join(dataDir, name)
  return {
    settings: { kind: 'embedded' as const, path: enginePath, database: 'cpi' },
    env: { CLICKHOUSE_PATH: enginePath, CLICKHOUSE_DATABASE: 'cpi' },
  }
}

/** In a benchmark's child process: the database `benchDatabase(...).env` described. */
export function databaseFromEnvironment(fallbackDatabase: string): ClickHouseSettings {
  const database = process.env.CLICKHOUSE_DATABASE ?? fallbackDatabase
  return process.env.CLICKHOUSE_URL
    ? {
        kind: 'http',
        url: process.env.CLICKHOUSE_URL,
        username: process.env.CLICKHOUSE_USER ?? 'default',
        password: process.env.CLICKHOUSE_PASSWORD ?? '',
        database,
      }
    : { kind: 'embedded', path: process.env.CLICKHOUSE_PATH as string, database }
}
