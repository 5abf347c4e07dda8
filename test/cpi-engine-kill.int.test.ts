import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { createClickHouse } from '@cpi/clickhouse'
import { describe, expect } from 'vitest'
import {
  expectGroundTruth,
  NEVER_IDLE,
  produce,
  scenarioEvents,
  validIdsOf,
} from './support/engine-faults.ts'
import { openMigratedClickHouse, testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal, endOffsets } from './support/ledger.ts'
import { expectRollupAgreement } from './support/rollup-agreement.ts'
import { topicSize } from './support/topic-reader.ts'

// Its own file: the processors run in child processes on the embedded engine's data
// directory, so this test process holds no ClickHouse client while they run.
describe('CPI engine under faults: still exactly the ground truth', () => {
  it('after the processor process is killed with SIGKILL three times mid-stream', async ({
    kafka,
    createTopic,
    clickhouseSettings,
    logger,
  }) => {
    const topic = await createTopic('faults_events', 3)
    const deadLetter = await createTopic('faults_dlq', 1)
    const groupId = uniqueName('processor')
    const { simulation, sent } = scenarioEvents(51)
    await produce(kafka, topic, sent, logger)
    const total = await topicSize(kafka, topic)
    const ends = await endOffsets(kafka, topic)
    const setup = await openMigratedClickHouse(clickhouseSettings)
    await setup.close()
    const workerConfig = {
      env: {
        KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
        CPI_EVENTS_TOPIC: topic,
        CPI_DEAD_LETTER_TOPIC: deadLetter,
        CPI_PROCESSOR_GROUP: groupId,
        CPI_IDLE_AFTER_MS: NEVER_IDLE,
        // A killed member's partitions move after 6 s instead of 30.
        KAFKA_SESSION_TIMEOUT_MS: '6000',
      },
      clickhouse: clickhouseSettings,
    }
    const worker = path.join(import.meta.dirname, 'support/processor-worker.ts')
    const start = () =>
      spawn(process.execPath, [worker], {
        env: { ...process.env, WORKER_CONFIG: JSON.stringify(workerConfig) },
        stdio: ['ignore', 'ignore', 'inherit'],
      })
    for (const share of [0.2, 0.45, 0.7]) {
      const child = start()
      await expect
        .poll(() => committedTotal(kafka, groupId, topic), { timeout: 120_000, interval: 50 })
        .toBeGreaterThanOrEqual(Math.floor(total * share))
      child.kill('SIGKILL')
      await once(child, 'exit')
    }
    const last = start()
    const [code] = await once(last, 'exit')
    expect(code).toBe(0)
    expect(await committedTotal(kafka, groupId, topic)).toBe(total)

    const clickhouse = createClickHouse(clickhouseSettings)
    try {
      // The rollup kept by difference holds what `outcomes` says after every kill (repaired at takeover).
      await expectRollupAgreement(clickhouse)
      await expectGroundTruth(clickhouse, topic, simulation, validIdsOf(sent), ends, sent)
    } finally {
      await clickhouse.writer.command({ query: `DROP DATABASE IF EXISTS ${clickhouse.database}` })
      await clickhouse.close()
    }
  }, 240_000)
})
