import type { Logger } from '@cpi/logger'
import type { Kafka, Message, Producer, TopicMessages } from 'kafkajs'
import { CompressionTypes, Partitioners } from 'kafkajs'
import { KafkaAdapterError, toKafkaError } from './errors.ts'

export interface BatchingProducerOptions {
  /** How long a message may wait for others to share its request. */
  lingerMs?: number
  /** Flush as soon as this many messages wait. */
  maxBatchMessages?: number
  /**
   * Most bytes (keys, values and headers) in one request. Under the broker's default `message.max.bytes`
   * (1 MiB per partition's record batch) even when every message goes to one partition; a
   * larger `send` is split across requests and resolves when all its parts are acknowledged.
   */
  maxRequestBytes?: number
  /**
   * Bytes (counted as in a request) waiting or in flight at most; a send that would pass it is
   * refused at once with a ProducerQueueFullError. Unbounded when not given.
   */
  maxQueuedBytes?: number
  /** Messages waiting or in flight at most, the same way. */
  maxQueuedMessages?: number
  logger: Logger
}

/**
 * A send refused because the producer holds its bound of messages for Kafka already (Kafka is
 * slow or away). Nothing of it was queued; retriable once earlier sends are acknowledged.
 */
export class ProducerQueueFullError extends KafkaAdapterError {
  constructor(message: string) {
    super(message, { retriable: true, code: 'PRODUCER_QUEUE_FULL' })
    this.name = 'ProducerQueueFullError'
  }
}

interface Waiting {
  topic: string
  messages: Message[]
  bytes: number
  resolve: () => void
  reject: (error: unknown) => void
}

const sizeOf = (value: Message['key'] | Message['value']): number =>
  value === null || value === undefined
    ? 0
    : typeof value === 'string'
      ? Buffer.byteLength(value)
      : value.length

/** Bytes of a message's headers (names and values; a header may hold several values). */
const headersSize = (headers: Message['headers']): number => {
  let bytes = 0
  for (const [name, value] of Object.entries(headers ?? {})) {
    const values = Array.isArray(value) ? value : [value]
    for (const one of values) bytes += Buffer.byteLength(name) + sizeOf(one as Message['value']) + 8
  }
  return bytes
}

/** A message's size in a request: key, value, headers and the record's own overhead. */
export const messageSize = (message: Message): number =>
  sizeOf(message.key) + sizeOf(message.value) + headersSize(message.headers) + 64

/** One `send` as parts of at most `maxBytes` each (a single larger message stays one part). */
function split(messages: Message[], maxBytes: number): { messages: Message[]; bytes: number }[] {
  const parts: { messages: Message[]; bytes: number }[] = []
  let current: { messages: Message[]; bytes: number } = { messages: [], bytes: 0 }
  for (const message of messages) {
    const bytes = messageSize(message)
    if (current.messages.length > 0 && current.bytes + bytes > maxBytes) {
      parts.push(current)
      current = { messages: [], bytes: 0 }
    }
    current.messages.push(message)
    current.bytes += bytes
  }
  if (current.messages.length > 0) parts.push(current)
  return parts
}

/**
 * An idempotent producer (acks from all in-sync replicas, broker-side deduplication of
 * retries) that coalesces concurrent `send` calls into one request. `send` resolves only
 * when Kafka has acknowledged the messages, so a caller that answers its own client after
 * `await send(...)` never acknowledges something Kafka could lose.
 *
 * One request is in flight at a time (what kafkajs's idempotent mode needs to keep sequence
 * numbers in order); calls made meanwhile form the next batch. What waits is bounded when
 * `maxQueuedBytes` or `maxQueuedMessages` is given: memory stays bounded while Kafka is away.
 */
export class BatchingProducer {
  private readonly producer: Producer
  private readonly lingerMs: number
  private readonly maxBatchMessages: number
  private readonly maxRequestBytes: number
  private readonly maxQueuedBytes: number
  private readonly maxQueuedMessages: number
  private readonly logger: Logger
  private waiting: Waiting[] = []
  private waitingCount = 0
  /** Waiting or in flight: what the bound counts. */
  private queuedBytes = 0
  private queuedMessages = 0
  private timer: NodeJS.Timeout | undefined
  private inFlight: Promise<void> | undefined
  private connected = false
  private requests = 0
  private acknowledged = 0

  constructor(kafka: Kafka, options: BatchingProducerOptions) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      // murmur2 on the key, as the Java client does: one subject, one partition, whoever produces.
      createPartitioner: Partitioners.DefaultPartitioner,
    })
    this.lingerMs = options.lingerMs ?? 2
    this.maxBatchMessages = options.maxBatchMessages ?? 5000
    this.maxRequestBytes = options.maxRequestBytes ?? 900_000
    this.maxQueuedBytes = options.maxQueuedBytes ?? Number.POSITIVE_INFINITY
    this.maxQueuedMessages = options.maxQueuedMessages ?? Number.POSITIVE_INFINITY
    this.logger = options.logger
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect()
      this.connected = true
    } catch (error) {
      throw toKafkaError(error, 'connecting the producer')
    }
  }

  get isConnected(): boolean {
    return this.connected
  }

  /** Produce requests made and messages acknowledged since construction. */
  stats(): { requests: number; messages: number } {
    return { requests: this.requests, messages: this.acknowledged }
  }

  /** Bytes and messages waiting or in flight now. */
  queued(): { bytes: number; messages: number } {
    return { bytes: this.queuedBytes, messages: this.queuedMessages }
  }

  /** Resolves when every message is acknowledged by Kafka; rejects with a KafkaAdapterError. */
  send(topic: string, messages: Message[]): Promise<void> {
    return this.sendAll([{ topic, messages }])
  }

  /**
   * Several topics' messages, queued all or nothing: over the bound, none is queued and the
   * promise rejects at once with a ProducerQueueFullError. A send alone (nothing queued) always
   * goes, however large, so a request larger than the bound is not refused forever.
   */
  sendAll(sends: readonly { topic: string; messages: Message[] }[]): Promise<void> {
    const parts = sends.flatMap(({ topic, messages }) =>
      split(messages, this.maxRequestBytes).map((part) => ({ topic, ...part })),
    )
    if (parts.length === 0) return Promise.resolve()
    const bytes = parts.reduce((sum, part) => sum + part.bytes, 0)
    const count = parts.reduce((sum, part) => sum + part.messages.length, 0)
    const full =
      this.queuedMessages > 0 &&
      (this.queuedBytes + bytes > this.maxQueuedBytes || this.queuedMessages + count > this.maxQueuedMessages)
    if (full) {
      return Promise.reject(
        new ProducerQueueFullError(
          `expected room for ${count} messages (${bytes} bytes) in the producer queue, got ${this.queuedMessages} messages (${this.queuedBytes} bytes) waiting for Kafka already`,
        ),
      )
    }
    this.queuedBytes += bytes
    this.queuedMessages += count
    return new Promise<void>((resolve, reject) => {
      let left = parts.length
      let failed = false
      for (const part of parts) {
        this.waiting.push({
          ...part,
          resolve: () => {
            if (--left === 0 && !failed) resolve()
          },
          reject: (error) => {
            if (failed) return
            failed = true
            reject(error)
          },
        })
        this.waitingCount += part.messages.length
      }
      if (this.waitingCount >= this.maxBatchMessages) this.flushSoon(0)
      else this.flushSoon(this.lingerMs)
    })
  }

  /** Sends everything waiting now and waits for it, then for the request in flight. */
  async flush(): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    while (this.inFlight || this.waiting.length > 0) {
      if (this.inFlight) await this.inFlight
      else this.startRequest()
    }
  }

  async disconnect(): Promise<void> {
    await this.flush()
    this.connected = false
    await this.producer.disconnect()
  }

  private waitingBytes(): number {
    return this.waiting.reduce((sum, entry) => sum + entry.bytes, 0)
  }

  private flushSoon(delayMs: number): void {
    if (this.inFlight) return // the request in flight starts the next one when it ends
    if (delayMs === 0) {
      clearTimeout(this.timer)
      this.timer = undefined
      this.startRequest()
      return
    }
    this.timer ??= setTimeout(() => {
      this.timer = undefined
      this.startRequest()
    }, delayMs)
  }

  private startRequest(): void {
    if (this.inFlight || this.waiting.length === 0) return
    // What waits, in order, up to the request's byte budget (at least one part).
    let bytes = 0
    let count = 0
    while (count < this.waiting.length) {
      const next = this.waiting[count] as Waiting
      if (count > 0 && bytes + next.bytes > this.maxRequestBytes) break
      bytes += next.bytes
      count++
    }
    const batch = this.waiting.slice(0, count)
    this.waiting = this.waiting.slice(count)
    this.waitingCount = this.waiting.reduce((sum, entry) => sum + entry.messages.length, 0)
    this.inFlight = this.sendBatch(batch).finally(() => {
      this.inFlight = undefined
      if (this.waiting.length > 0)
        this.flushSoon(
          this.waitingCount >= this.maxBatchMessages || this.waitingBytes() >= this.maxRequestBytes
            ? 0
            : this.lingerMs,
        )
    })
  }

  private async sendBatch(batch: Waiting[]): Promise<void> {
    const byTopic = new Map<string, Message[]>()
    for (const entry of batch) {
      const list = byTopic.get(entry.topic)
      if (list) list.push(...entry.messages)
      else byTopic.set(entry.topic, [...entry.messages])
    }
    const topicMessages: TopicMessages[] = [...byTopic].map(([topic, messages]) => ({ topic, messages }))
    this.requests++
    try {
      // A producer whose broker was down at start (or that lost it) connects on its next send.
      if (!this.connected) await this.connect()
      await this.producer.sendBatch({ topicMessages, acks: -1, compression: CompressionTypes.None })
      for (const entry of batch) {
        this.acknowledged += entry.messages.length
        entry.resolve()
      }
    } catch (error) {
      const mapped = toKafkaError(
        error,
        `producing ${batch.length} requests to ${[...byTopic.keys()].join(', ')}`,
      )
      this.logger.warn({ err: mapped }, 'produce failed')
      for (const entry of batch) entry.reject(mapped)
    } finally {
      for (const entry of batch) {
        this.queuedBytes -= entry.bytes
        this.queuedMessages -= entry.messages.length
      }
    }
  }
}
