import { BatchingProducer, KafkaAdapterError } from '@cpi/kafka'
import { describe, expect } from 'vitest'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { topicSize } from './support/topic-reader.ts'

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

  it('splits more than a broker message (1 MiB) for one partition across requests, in order, instead of failing', async ({
    kafka,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('producer_large', 1)
    const producer = new BatchingProducer(kafka, { logger })
    await producer.connect()
    try {
      // 3 MB for one key in one call, and more while it is in flight: each alone is over the limit.
      const value = (index: number) => `${String(index).padStart(8, '0')}${'x'.repeat(92)}`
      const first = Array.from({ length: 30_000 }, (_, index) => ({ key: 'one', value: value(index) }))
      const second = Array.from({ length: 15_000 }, (_, index) => ({
        key: 'one',
        value: value(30_000 + index),
      }))
      await Promise.all([producer.send(topic, first), producer.send(topic, second)])
      expect(producer.stats().requests).toBeGreaterThanOrEqual(5)
    } finally {
      await producer.disconnect()
    }
    expect(await topicSize(kafka, topic)).toBe(45_000)
    // Order within the partition is the order of the calls.
    const consumer = kafka.consumer({ groupId: uniqueName('reader') })
    const offsets: number[] = []
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ message }) => {
        offsets.push(Number(message.value?.toString().slice(0, 8)))
      },
    })
    await expect.poll(() => offsets.length, { timeout: 60_000 }).toBe(45_000)
    await consumer.disconnect()
    expect(offsets.every((index, position) => index === position)).toBe(true)
  })

  it('counts headers when splitting: a send of dead letters heavy with headers still fits the broker', async ({
    kafka,
    createTopic,
    logger,
  }) => {
    // Found by the separate-processes test: 2,000 rejected events in one request, each carrying
    // its errors and raw payload in headers, were one 1.4 MB record batch and failed every retry.
    const topic = await createTopic('producer_headers', 1)
    const producer = new BatchingProducer(kafka, { logger })
    await producer.connect()
    try {
      const messages = Array.from({ length: 2000 }, (_, index) => ({
        key: 'dlq',
        value: String(index),
        headers: { 'cpi-errors': 'e'.repeat(500), 'cpi-reason': 'time_in_future' },
      }))
      await producer.send(topic, messages)
      expect(producer.stats().requests).toBeGreaterThanOrEqual(2)
    } finally {
      await producer.disconnect()
    }
    expect(await topicSize(kafka, topic)).toBe(2000)
  })
})
