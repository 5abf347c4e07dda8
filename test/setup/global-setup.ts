// Provides the real Kafka broker and ClickHouse engine to every integration test file, in
// this order of preference: what the environment names (KAFKA_BROKERS, CLICKHOUSE_URL);
// containers, when a Docker engine answers; the project's own local broker
// (infra/kafka/kafka.sh, on a port of its own) and the embedded engine.
import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { createClickHouse } from '@cpi/clickhouse'
import type { TestProject } from 'vitest/node'
import type { TestEnvironment } from '../support/environment.ts'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')
const log = (line: string) => process.stdout.write(`[test-env] ${line}\n`)

async function dockerAnswers(): Promise<boolean> {
  if (process.env.CPI_TEST_DOCKER === 'off') return false
  try {
    const { getContainerRuntimeClient } = await import('testcontainers')
    const client = await Promise.race([
      getContainerRuntimeClient(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), 5000)),
    ])
    return Boolean(client)
  } catch {
    return false
  }
}

export default async function setup(project: TestProject) {
  const teardown: (() => Promise<unknown>)[] = []
  const docker = !process.env.KAFKA_BROKERS || !process.env.CLICKHOUSE_URL ? await dockerAnswers() : false
  if (!docker && (!process.env.KAFKA_BROKERS || !process.env.CLICKHOUSE_URL))
    log('no Docker engine answers: testcontainers skipped, the local broker and the embedded engine stand in')
  const localKafkaEnv = {
    ...process.env,
    KAFKA_PORT: process.env.CPI_TEST_KAFKA_PORT ?? '19092',
    KAFKA_DATA_DIR: path.join(root, '.data/test/kafka'),
  }

  let kafkaBrokers: string[]
  if (process.env.KAFKA_BROKERS) {
    kafkaBrokers = process.env.KAFKA_BROKERS.split(',')
    log(`Kafka: KAFKA_BROKERS=${kafkaBrokers.join(',')}`)
  } else if (docker) {
    const { KafkaContainer } = await import('@testcontainers/kafka')
    const container = await new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().start()
    teardown.push(() => container.stop())
    kafkaBrokers = [`${container.getHost()}:${container.getMappedPort(9093)}`]
    log(`Kafka: container ${kafkaBrokers[0]}`)
  } else {
    const script = path.join(root, 'infra/kafka/kafka.sh')
    // A broker left behind by an interrupted run is restarted fresh rather than trusted.
    await run('bash', [script, 'stop'], { env: localKafkaEnv }).catch(() => undefined)
    await rm(localKafkaEnv.KAFKA_DATA_DIR, { recursive: true, force: true })
    await run('bash', [script, 'start'], { env: localKafkaEnv })
    teardown.push(() => run('bash', [script, 'stop'], { env: localKafkaEnv }))
    const { stdout } = await run('bash', [script, 'version'], { env: localKafkaEnv })
    kafkaBrokers = [`127.0.0.1:${localKafkaEnv.KAFKA_PORT}`]
    log(`Kafka: local Apache Kafka broker ${stdout.trim()} (KRaft) on ${kafkaBrokers[0]}`)
  }

  let clickhouse: TestEnvironment['clickhouse']
  if (process.env.CLICKHOUSE_URL) {
    clickhouse = {
      kind: 'http',
      url: process.env.CLICKHOUSE_URL,
      username: process.env.CLICKHOUSE_USER ?? 'default',
      password: process.env.CLICKHOUSE_PASSWORD ?? '',
    }
  } else if (docker) {
    const { ClickHouseContainer } = await import('@testcontainers/clickhouse')
    const container = await new ClickHouseContainer('clickhouse/clickhouse-server:25.8').start()
    teardown.push(() => container.stop())
    clickhouse = {
      kind: 'http',
      url: container.getHttpUrl(),
      username: container.getUsername(),
      password: container.getPassword(),
    }
  } else {
    const dataRoot = path.join(root, '.data/test/clickhouse')
    await rm(dataRoot, { recursive: true, force: true })
    clickhouse = { kind: 'embedded', dataRoot }
  }
  const probe = createClickHouse(
    clickhouse.kind === 'http'
      ? { ...clickhouse, database: 'default' }
      : { kind: 'embedded', path: path.join(clickhouse.dataRoot, 'probe'), database: 'default' },
  )
  log(
    `ClickHouse: ${clickhouse.kind === 'http' ? clickhouse.url : 'embedded engine (chDB)'}, version() = ${await probe.version()}`,
  )
  await probe.close()

  const environment: TestEnvironment = { kafkaBrokers, clickhouse }
  project.provide('testEnvironment', environment)

  return async () => {
    for (const step of teardown.reverse()) await step()
  }
}
