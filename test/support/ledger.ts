// Shared by the ledger tests: produce N test events, run consumers in-process or as child
// processes that can be killed, and check the events table against Kafka's offsets.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { BatchingProducer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import type { Kafka } from 'kafkajs'
import { expect } from 'vitest'
import { countFinal, offsetLedger, testEvent } from './raw-event-sink.ts'
import { topicSize } from './topic-reader.ts'

export const EVENTS = 10_000
export const PARTITIONS = 3

/**
 * Produces the test events. `requestSize` bounds the messages per produce request, and so the
 * size of Kafka's record batches, which a consumer receives whole: small requests make many
 * small consumer batches for the fault tests to kill between.
 */
export async function produceEvents(
  kafka: Kafka,
  topic: string,
  runId: string,
  logger: Logger,
  requestSize = 2000,
) {
  const producer = new BatchingProducer(kafka, { logger, maxBatchMessages: requestSize })
  await producer.connect()
  for (let start = 0; start < EVENTS; start += requestSize) {
    const messages = Array.from({ length: Math.min(requestSize, EVENTS - start) }, (_, offset) => {
      const event = testEvent(start + offset, runId)
      return { key: event.subject, value: JSON.stringify(event) }
    })
    await producer.send(topic, messages)
  }
  await producer.disconnect()
}

export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, number>> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return new Map(
      (await admin.fetchTopicOffsets(topic)).map((entry) => [entry.partition, Number(entry.high)]),
    )
  } finally {
    await admin.disconnect()
  }
}

export async function committedTotal(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return (entry?.partitions ?? []).reduce(
      (sum, partition) => sum + Math.max(0, Number(partition.offset)),
      0,
    )
  } finally {
    await admin.disconnect()
  }
}

/** Expects the processor's dead-letter recorder to have copied every dead letter (its group committed them all). */
export async function expectDeadLettersRecorded(
  kafka: Kafka,
  groupId: string,
  deadLetter: string,
): Promise<void> {
  await expect
    .poll(() => committedTotal(kafka, `${groupId}-dead-letters`, deadLetter), {
      timeout: 60_000,
      interval: 100,
    })
    .toBe(await topicSize(kafka, deadLetter))
}

/** Expects the table to hold every offset of every partition exactly once after dedup. */
export async function expectExactLedger(
  clickhouse: Parameters<typeof offsetLedger>[0],
  kafka: Kafka,
  topic: string,
): Promise<void> {
  const ends = await endOffsets(kafka, topic)
  expect([...ends.values()].reduce((a, b) => a + b, 0)).toBe(EVENTS)
  const ledger = await offsetLedger(clickhouse, topic)
  expect(ledger).toEqual(
    [...ends]
      .sort(([a], [b]) => a - b)
      .map(([partition, end]) => ({
        partition,
        distinctOffsets: end,
        minOffset: 0,
        maxOffset: end - 1,
      })),
  )
  expect(await countFinal(clickhouse, topic)).toBe(EVENTS)
}

export interface WorkerRun {
  exitCode: number | null
  signal: NodeJS.Signals | null
  /** What the worker wrote to standard error, for the failure message. */
  stderr: string
  lines: { partition: number; first: string; last: string; total: number }[]
}

export function runWorker(
  config: object,
  options: { crashAfterBatches?: number; killWhenTotalReaches?: number } = {},
): Promise<WorkerRun> {
  const worker = path.join(import.meta.dirname, 'consumer-worker.ts')
  const child = spawn(process.execPath, [worker], {
    env: {
      ...process.env,
      WORKER_CONFIG: JSON.stringify(config),
      CRASH_AFTER_BATCHES: String(options.crashAfterBatches ?? 0),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: WorkerRun['lines'] = []
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  let buffered = ''
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    const parts = buffered.split('\n')
    buffered = parts.pop() ?? ''
    for (const part of parts) {
      if (!part.trim()) continue
      const line = JSON.parse(part) as WorkerRun['lines'][number]
      lines.push(line)
      if (options.killWhenTotalReaches && line.total >= options.killWhenTotalReaches) child.kill('SIGKILL')
    }
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error('consumer worker did not finish within 90 s'))
    }, 90_000)
    child.on('exit', (exitCode, signal) => {
      clearTimeout(timer)
      resolve({ exitCode, signal, lines, stderr })
    })
  })
}
