// A consumer in a process of its own, for fault tests that kill it with SIGKILL.
// It consumes a topic into the events table with the adapter and exits 0 once the group has
// committed every partition up to the end offsets it saw at start. One JSON line per batch
// on stdout: {"partition":0,"first":"0","last":"99","total":100}.
//
// Environment: WORKER_CONFIG (JSON: brokers, topic, groupId, clickhouse settings),
// CRASH_AFTER_BATCHES (optional: after that many batches are inserted, and before their
// offsets are committed, the process sends itself SIGKILL).

import { setTimeout as sleep } from 'node:timers/promises'
import type { ClickHouseSettings } from '@cpi/clickhouse'
import { createClickHouse } from '@cpi/clickhouse'
import { BatchConsumer, createKafka, isRetriable } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { rawEventSink } from './raw-event-sink.ts'

interface WorkerConfig {
  brokers: string[]
  topic: string
  groupId: string
  clickhouse: ClickHouseSettings
}

const config = JSON.parse(process.env.WORKER_CONFIG ?? '{}') as WorkerConfig
const crashAfter = Number(process.env.CRASH_AFTER_BATCHES ?? 0)
const logger = createLogger({ service: 'consumer-worker', level: 'error', destination: process.stderr })
const kafka = createKafka({ brokers: config.brokers, clientId: 'consumer-worker', logger })
const clickhouse = createClickHouse(config.clickhouse)
const sink = rawEventSink(clickhouse)

/** Admin calls right after a broker start can meet a coordinator that is still loading. */
async function withRetries<T>(what: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await what()
    } catch (error) {
      if (attempt >= 20 || !isRetriable(error)) throw error
      await sleep(250)
    }
  }
}

const admin = kafka.admin()
await admin.connect()
const endOffsets = new Map(
  (await withRetries(() => admin.fetchTopicOffsets(config.topic))).map((entry) => [
    entry.partition,
    BigInt(entry.high),
  ]),
)
const [committedAtStart] = await withRetries(() =>
  admin.fetchOffsets({ groupId: config.groupId, topics: [config.topic] }),
)
await admin.disconnect()
const committed = new Map<number, bigint>()
for (const entry of committedAtStart?.partitions ?? []) {
  committed.set(entry.partition, entry.offset === '-1' ? 0n : BigInt(entry.offset))
}

let batches = 0
let total = 0
const caughtUp = () => [...endOffsets].every(([partition, end]) => (committed.get(partition) ?? 0n) >= end)

const consumer = new BatchConsumer({
  kafka,
  groupId: config.groupId,
  topics: [config.topic],
  logger,
  // Small fetches make many batches to be killed between; a short session lets the next
  // process take over from a killed one quickly.
  consumerConfig: {
    maxBytesPerPartition: 16_384,
    maxBytes: 65_536,
    sessionTimeout: 6000,
    heartbeatInterval: 500,
  },
  handleBatch: async (batch) => {
    await sink(batch)
    batches++
    total += batch.messages.length
    const first = batch.messages[0]?.offset
    const last = batch.messages.at(-1)?.offset
    process.stdout.write(`${JSON.stringify({ partition: batch.partition, first, last, total })}\n`)
    if (crashAfter > 0 && batches >= crashAfter) process.kill(process.pid, 'SIGKILL')
    // The adapter commits last + 1 right after this handler resolves.
    committed.set(batch.partition, BigInt(last ?? '0') + 1n)
  },
})

if (caughtUp()) process.exit(0)
await consumer.start()
const timer = setInterval(() => {
  if (!caughtUp()) return
  clearInterval(timer)
  // Give the commit of the last batch time to land before leaving the group.
  setTimeout(async () => {
    await consumer.stop()
    await clickhouse.close()
    process.exit(0)
  }, 300)
}, 100)
