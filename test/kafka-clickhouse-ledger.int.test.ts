import { countEvents } from '@cpi/clickhouse'
import { BatchConsumer } from '@cpi/kafka'
import { describe, expect } from 'vitest'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal, EVENTS, expectExactLedger, PARTITIONS, produceEvents } from './support/ledger.ts'
import { rawEventSink } from './support/raw-event-sink.ts'

describe('Kafka adapter → ClickHouse adapter, 10,000 events through the real broker and engine', () => {
  it('consumes every event once: exactly 10,000 distinct rows, every offset of every partition', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('ledger', PARTITIONS)
    await produceEvents(kafka, topic, uniqueName('run'), logger)
    const groupId = uniqueName('group')
    const consumer = new BatchConsumer({
      kafka,
      groupId,
      topics: [topic],
      logger,
      handleBatch: rawEventSink(clickhouse),
    })
    await consumer.start()
    await expect
      .poll(() => committedTotal(kafka, groupId, topic), { timeout: 60_000, interval: 200 })
      .toBe(EVENTS)
    await consumer.stop()

    await expectExactLedger(clickhouse, kafka, topic)
    // Nothing was redelivered in a clean run, so nothing was stored twice either.
    expect(await countEvents(clickhouse, { kafkaTopic: topic })).toEqual({ distinct: EVENTS, stored: EVENTS })
  })
})
