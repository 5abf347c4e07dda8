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

  it('refuses a send at once while its bound of waiting bytes or messages is reached, queueing nothing of it, and takes sends again once Kafka acknowledged', async ({
    kafka,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('producer_bound', 1)
    // A long linger keeps the first send waiting while the others arrive.
    const producer = new BatchingProducer(kafka, {
      logger,
      lingerMs: 200,
      maxQueuedBytes: 10_000,
      maxQueuedMessages: 12,
    })
    await producer.connect()
    const message = (index: number) => ({ key: 'k', value: String(index).padEnd(1000, 'x') })
    const batch = (from: number, count: number) =>
      Array.from({ length: count }, (_, index) => message(from + index))
    try {
      const first = producer.send(topic, batch(0, 8)) // about 8.5 kB waiting
      const started = performance.now()
      // Two more messages would pass 10,000 bytes: refused now, not after the linger or a timeout.
      await expect(producer.send(topic, batch(100, 2))).rejects.toMatchObject({
        code: 'PRODUCER_QUEUE_FULL',
        retriable: true,
      })
      expect(performance.now() - started).toBeLessThan(100)
      // One more still fits.
      const second = producer.send(topic, batch(8, 1))
      await Promise.all([first, second])
      // Acknowledged: the room is back.
      await producer.send(topic, batch(9, 2))
      // The message bound: 12 messages of a few bytes each.
      const small = Array.from({ length: 10 }, (_, index) => ({ key: 'k', value: `s${index}` }))
      const third = producer.send(topic, small)
      await expect(producer.send(topic, small.slice(0, 3))).rejects.toMatchObject({
        code: 'PRODUCER_QUEUE_FULL',
      })
      await third
    } finally {
      await producer.disconnect()
    }
    // The refused sends never reached Kafka.
    expect(await topicSize(kafka, topic)).toBe(8 + 1 + 2 + 10)
  })

  it('lets one send larger than the bound through when nothing waits (a request bigger than the bound is not refused forever)', async ({
    kafka,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('producer_bound_alone', 1)
    const producer = new BatchingProducer(kafka, { logger, maxQueuedBytes: 1000 })
    await producer.connect()
    try {
      await producer.send(topic, [{ key: 'k', value: 'x'.repeat(5000) }])
    } finally {
      await producer.disconnect()
    }
    expect(await topicSize(kafka, topic)).toBe(1)
  })
})
