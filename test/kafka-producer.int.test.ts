import { BatchingProducer, KafkaAdapterError } from '@cpi/kafka'
import { describe, expect } from 'vitest'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'

describe('BatchingProducer against the real broker', () => {
  it('acknowledges 200 concurrent sends in a few requests, each subject on one partition', async ({
    kafka,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('producer', 3)
    const producer = new BatchingProducer(kafka, { logger, lingerMs: 5 })
    await producer.connect()
    const sends = Array.from({ length: 200 }, (_, index) =>
      producer.send(topic, [{ key: `subject-${index % 20}`, value: JSON.stringify({ index }) }]),
    )
    await Promise.all(sends)
    const stats = producer.stats()
    await producer.disconnect()
    expect(stats.messages).toBe(200)
    // Concurrent sends share requests: far fewer requests than sends.
    expect(stats.requests).toBeLessThanOrEqual(10)

    const seen = new Map<string, Set<number>>()
    let count = 0
    const consumer = kafka.consumer({ groupId: uniqueName('reader') })
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        count++
        const key = message.key?.toString() ?? ''
        seen.set(key, (seen.get(key) ?? new Set()).add(partition))
      },
    })
    await expect.poll(() => count, { timeout: 30_000 }).toBe(200)
    await consumer.disconnect()
    expect(seen.size).toBe(20)
    for (const partitions of seen.values()) expect(partitions.size).toBe(1)
  })

  it('rejects a send to a topic that does not exist with a typed error, after which others still succeed', async ({
    kafka,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('producer_ok', 1)
    const producer = new BatchingProducer(kafka, { logger })
    await producer.connect()
    try {
      const missing = producer.send(uniqueName('missing'), [{ value: 'x' }])
      await expect(missing).rejects.toBeInstanceOf(KafkaAdapterError)
      await expect(producer.send(topic, [{ value: 'y' }])).resolves.toBeUndefined()
    } finally {
      await producer.disconnect()
    }
  })
})
