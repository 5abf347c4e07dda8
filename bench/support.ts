// Shared by the benchmarks: a free port, the local broker, machine details, percentiles, results.
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

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
