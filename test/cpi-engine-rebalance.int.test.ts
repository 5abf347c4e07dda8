import { loadConfig } from '@cpi/config'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import { describe, expect } from 'vitest'
import {
  expectGroundTruth,
  NEVER_IDLE,
  produce,
  scenarioEvents,
  validIdsOf,
} from './support/engine-faults.ts'
import { testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal, endOffsets, expectDeadLettersRecorded } from './support/ledger.ts'
import { expectRollupAgreement } from './support/rollup-agreement.ts'
import { topicSize } from './support/topic-reader.ts'

describe('CPI engine under rebalances: still exactly the ground truth', () => {
  it('when a second processor joins the group mid-stream and the first one leaves (two rebalances)', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('rebalance_events', 3)
    const deadLetter = await createTopic('rebalance_dlq', 1)
    const groupId = uniqueName('processor')
    const { simulation, sent } = scenarioEvents(52)
    await produce(kafka, topic, sent, logger)
    const total = await topicSize(kafka, topic)
    const ends = await endOffsets(kafka, topic)
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: topic,
      CPI_DEAD_LETTER_TOPIC: deadLetter,
      CPI_PROCESSOR_GROUP: groupId,
      CPI_IDLE_AFTER_MS: NEVER_IDLE,
    })
    const start = () =>
      startProcessor({ config, kafka, clickhouse, registry: createMetricsRegistry({ service: 't' }), logger })
    const first = await start()
    await expect
      .poll(() => committedTotal(kafka, groupId, topic), { timeout: 120_000, interval: 50 })
      .toBeGreaterThanOrEqual(Math.floor(total * 0.25))
    const second = await start()
    await expect
      .poll(() => committedTotal(kafka, groupId, topic), { timeout: 120_000, interval: 50 })
      .toBeGreaterThanOrEqual(Math.floor(total * 0.6))
    await first.stop()
    try {
      await expect
        .poll(() => committedTotal(kafka, groupId, topic), { timeout: 120_000, interval: 100 })
        .toBe(total)
      await second.processor.sweep()
      // The dead-letter recorder has copied every rejection (the ledger counts them).
      await expectDeadLettersRecorded(kafka, groupId, deadLetter)
      // The rollup kept by difference holds what `outcomes` says after every handover (repaired at takeover).
      await expectRollupAgreement(clickhouse)
      await expectGroundTruth(clickhouse, topic, simulation, validIdsOf(sent), ends, sent)
    } finally {
      await second.stop()
    }
  }, 240_000)
})
