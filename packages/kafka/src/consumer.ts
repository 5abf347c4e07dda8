import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '@cpi/logger'
import type { Consumer, ConsumerConfig, Kafka, KafkaMessage } from 'kafkajs'
import { isRetriable, toKafkaError } from './errors.ts'

export interface Batch {
  topic: string
  partition: number
  messages: KafkaMessage[]
  /** Tell the group coordinator we are alive; call it during long work. */
  heartbeat(): Promise<void>
  /** True once this partition was taken away by a rebalance or the consumer is stopping. */
  isStale(): boolean
}

export interface BatchConsumerOptions {
  kafka: Kafka
  groupId: string
  topics: string[]
  /** Where a group with no committed offset starts; the earliest offset unless false. */
  fromBeginning?: boolean
  logger: Logger
  /**
   * Processes one partition's batch and resolves once everything derived from it is durable
   * (ClickHouse acknowledged). Only then are the batch's offsets committed. A rejection is
   * retried with backoff until it succeeds or the partition is revoked: a batch is never
   * skipped, so a poison message must be turned into an outcome (dead letter) by the handler.
   */
  handleBatch(batch: Batch): Promise<void>
  /** Passed through to kafkajs (fetch sizes, session timeout, …). */
  consumerConfig?: Partial<ConsumerConfig>
  /** Called after each rebalance with the partitions this member now owns, per topic. */
  onAssignment?: (assignment: Record<string, number[]>) => void
  retry?: { initialMs?: number; maxMs?: number }
  /**
   * How many partitions' batches may be in `handleBatch` at once (kafkajs
   * `partitionsConsumedConcurrently`; one batch per partition at a time, always). Default 1.
   */
  concurrentPartitions?: number
}

export interface PartitionProgress {
  topic: string
  partition: number
  /** The next offset to process (the last committed one). */
  committedOffset: string
  highWatermark: string
  committedAt: number
}

/**
 * A consumer-group member that commits offsets only after its handler finished a batch:
 * at-least-once delivery, which idempotent writes turn into an exactly-once effect.
 */
export class BatchConsumer {
  private readonly consumer: Consumer
  private readonly options: BatchConsumerOptions
  private readonly logger: Logger
  private readonly progress = new Map<string, PartitionProgress>()
  private running = false
  private stopping = false
  private lastLoopAt = 0
  private crashed: Error | undefined

  constructor(options: BatchConsumerOptions) {
    this.options = options
    this.logger = options.logger.child({ groupId: options.groupId })
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3000,
      ...options.consumerConfig,
    })
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      // kafkajs restarts the consumer after retriable crashes (a coordinator still loading);
      // only a crash it does not come back from makes the consumer unhealthy.
      if (event.payload.restart) {
        this.logger.warn({ err: event.payload.error }, 'consumer crashed; kafkajs restarts it')
        return
      }
      this.crashed = event.payload.error
      this.logger.error({ err: event.payload.error }, 'consumer crashed and stopped')
    })
    this.consumer.on(this.consumer.events.FETCH_START, () => {
      this.lastLoopAt = Date.now()
    })
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.crashed = undefined
      this.logger.info({ assignment: event.payload.memberAssignment }, 'joined consumer group')
      this.options.onAssignment?.(event.payload.memberAssignment)
    })
  }

  async start(): Promise<void> {
    try {
      await this.consumer.connect()
      await this.consumer.subscribe({
        topics: this.options.topics,
        fromBeginning: this.options.fromBeginning ?? true,
      })
      this.running = true
      await this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: this.options.concurrentPartitions ?? 1,
        eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
          this.lastLoopAt = Date.now()
          if (batch.isEmpty()) return
          const stale = () => this.stopping || !isRunning() || isStale()
          const done = await this.processWithRetry({
            topic: batch.topic,
            partition: batch.partition,
            messages: batch.messages,
            heartbeat,
            isStale: stale,
          })
          if (!done) return // revoked or stopping: the next owner starts from the last commit
          const lastOffset = batch.lastOffset()
          resolveOffset(lastOffset)
          const next = (BigInt(lastOffset) + 1n).toString()
          await this.consumer.commitOffsets([
            { topic: batch.topic, partition: batch.partition, offset: next },
          ])
          this.progress.set(`${batch.topic}/${batch.partition}`, {
            topic: batch.topic,
            partition: batch.partition,
            committedOffset: next,
            highWatermark: batch.highWatermark,
            committedAt: Date.now(),
          })
        },
      })
    } catch (error) {
      throw toKafkaError(error, `starting consumer group ${this.options.groupId}`)
    }
  }

  /** Stops fetching, lets the batch in progress finish (or abandon its retries), then leaves the group. */
  async stop(): Promise<void> {
    if (!this.running) return
    this.stopping = true
    try {
      await this.consumer.disconnect()
    } finally {
      this.running = false
    }
  }

  /** Healthy when started, not crashed, and the fetch loop ran within the given time. */
  isHealthy(maxLoopSilenceMs = 60_000): boolean {
    return this.running && !this.crashed && Date.now() - this.lastLoopAt < maxLoopSilenceMs
  }

  partitionProgress(): PartitionProgress[] {
    return [...this.progress.values()]
  }

  private async processWithRetry(batch: Batch): Promise<boolean> {
    const initial = this.options.retry?.initialMs ?? 200
    const max = this.options.retry?.maxMs ?? 10_000
    for (let attempt = 1; ; attempt++) {
      if (batch.isStale()) return false
      try {
        await this.options.handleBatch(batch)
        return true
      } catch (error) {
        const delay = Math.min(max, initial * 2 ** (attempt - 1))
        const log = { err: error, topic: batch.topic, partition: batch.partition, attempt, retryInMs: delay }
        if (isRetriable(error)) this.logger.warn(log, 'batch failed; retrying')
        else
          this.logger.error(
            log,
            'batch failed with a non-retriable error; retrying, the batch is never skipped',
          )
        const until = Date.now() + delay
        while (Date.now() < until && !batch.isStale()) {
          await sleep(Math.min(1000, until - Date.now()))
          await batch.heartbeat().catch(() => undefined)
        }
      }
    }
  }
}
