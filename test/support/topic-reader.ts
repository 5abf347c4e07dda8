import type { Kafka } from 'kafkajs'
import { expect } from 'vitest'
import { uniqueName } from './environment.ts'

export interface ReadMessage {
  partition: number
  offset: string
  key: string | null
  value: string
  headers: Record<string, string>
}

/** Reads a topic from the beginning until `count` messages arrived (or the timeout passes). */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  count: number,
  timeoutMs = 30_000,
): Promise<ReadMessage[]> {
  const messages: ReadMessage[] = []
  const consumer = kafka.consumer({ groupId: uniqueName('reader') })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(message.headers ?? {})) {
        if (value !== undefined) headers[name] = (Array.isArray(value) ? value[0] : value)?.toString() ?? ''
      }
      messages.push({
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? '',
        headers,
      })
    },
  })
  try {
    await expect
      .poll(() => messages.length, { timeout: timeoutMs, interval: 100 })
      .toBeGreaterThanOrEqual(count)
  } finally {
    await consumer.disconnect()
  }
  return messages
}

/** How many messages a topic holds (sum of its partitions' end offsets). */
export async function topicSize(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.reduce((sum, entry) => sum + Number(entry.high) - Number(entry.low), 0)
  } finally {
    await admin.disconnect()
  }
}

/** Every message the topic holds now. */
export async function readWholeTopic(
  kafka: Kafka,
  topic: string,
  timeoutMs = 30_000,
): Promise<ReadMessage[]> {
  return readTopic(kafka, topic, await topicSize(kafka, topic), timeoutMs)
}
