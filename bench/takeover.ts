// Takeover: a processor taking over a partition with 100,000 open interactions, until it decides
// the next event of one of them. A first processor (in this process, its own consumer group)
// stores 100,000 support tickets opened and still waiting for a first reply (`first_reply_2h`
// pending, each with a revisit in two hours) and stops; a second one starts on the same group and
// database with nothing in memory — as after a crash or a rebalance — and one ticket's reply is
// produced. Measured: start of the second processor → that reply decided `good` (polled every
// 20 ms on the query connection), and the load of the partition's revisit schedule alone. Used by
// bench/pipeline.ts; alone: `node bench/takeover.ts` (TAKEOVER_INTERACTIONS, default 100,000).
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { createClickHouse, migrateToLatest, pendingRevisits } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { BatchingProducer, createKafka, ensureTopics } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import { benchBrokers, benchDatabase, root } from './support.ts'

export interface TakeoverResult {
  openInteractions: number
  /** Second processor started → the reply to one open ticket decided. */
  takeoverMs: number
  /** Reading the partition's revisit schedule (every pending interaction) from ClickHouse. */
  scheduleLoadMs: number
  /** The first processor storing the open interactions (context). */
  fillSeconds: number
}

const ticketOpened = (subject: string, time: number) =>
  JSON.stringify({
    specversion: '1.0',
    id: `${subject}-opened`,
    source: '/bench/takeover',
    type: 'ticket.opened',
    time: new Date(time).toISOString(),
    subject,
    data: { customerId: `C-${subject}`, channel: 'email', region: 'eu', category: 'billing' },
  })

const agentReply = (subject: string, time: number) =>
  JSON.stringify({
    specversion: '1.0',
    id: `${subject}-reply`,
    source: '/bench/takeover',
    type: 'ticket.message',
    time: new Date(time).toISOString(),
    subject,
    data: { direction: 'outbound', author: 'agent', channel: 'email' },
  })

export async function measureTakeover(options: {
  brokers: string
  interactions: number
  dataDir: string
}): Promise<TakeoverResult> {
  const logger = createLogger({ service: 'bench', level: 'warn' })
  const stamp = Date.now()
  const topic = `bench.takeover.${stamp}`
  const kafka = createKafka({ brokers: options.brokers.split(','), clientId: 'bench', logger })
  await ensureTopics(kafka, [
    { topic, numPartitions: 1 },
    { topic: `${topic}.dlq`, numPartitions: 1 },
  ])
  const config = loadConfig({
    KAFKA_BROKERS: options.brokers,
    CPI_EVENTS_TOPIC: topic,
    CPI_DEAD_LETTER_TOPIC: `${topic}.dlq`,
    CPI_PROCESSOR_GROUP: `bench-takeover-${stamp}`,
    ...benchDatabase('takeover', options.dataDir, stamp).env,
    LOG_LEVEL: 'warn',
  })
  const clickhouse = createClickHouse(config.clickhouse)
  await migrateToLatest(clickhouse)
  const producer = new BatchingProducer(kafka, { logger })
  await producer.connect()
  const openedAt = Date.now() - 60_000
  const subjects = Array.from({ length: options.interactions }, (_, index) => `T-${stamp}-${index}`)
  for (let start = 0; start < subjects.length; start += 5000) {
    await producer.send(
      topic,
      subjects
        .slice(start, start + 5000)
        .map((subject) => ({ key: subject, value: ticketOpened(subject, openedAt) })),
    )
  }

  const stored = async () => {
    const result = await clickhouse.reader.query({
      query: `SELECT count() AS n FROM ${clickhouse.database}.outcomes FINAL
              WHERE cpi = 'first_reply_2h' AND state = 'pending'`,
      format: 'JSONEachRow',
    })
    return Number((await result.json<{ n: string }>())[0]?.n ?? 0)
  }
  const start = (name: string) =>
    startProcessor({
      config,
      kafka,
      clickhouse,
      registry: createMetricsRegistry({ service: name }),
      logger,
    })
  const filling = performance.now()
  const first = await start('first')
  await first.started
  while ((await stored()) < options.interactions) await new Promise((resolve) => setTimeout(resolve, 200))
  const fillSeconds = (performance.now() - filling) / 1000
  await first.stop()

  const marker = subjects[Math.floor(subjects.length / 2)] as string
  await producer.send(topic, [{ key: marker, value: agentReply(marker, Date.now()) }])
  const decided = async () => {
    const result = await clickhouse.reader.query({
      query: `SELECT state FROM ${clickhouse.database}.outcomes FINAL
              WHERE cpi = 'first_reply_2h' AND subject = {subject:String}`,
      query_params: { subject: marker },
      format: 'JSONEachRow',
    })
    return (await result.json<{ state: string }>())[0]?.state
  }
  const takingOver = performance.now()
  const second = await start('second')
  while ((await decided()) !== 'good') {
    if (performance.now() - takingOver > 120_000) throw new Error('the second processor took over 2 minutes')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const takeoverMs = performance.now() - takingOver
  await second.stop()

  const loading = performance.now()
  const schedule = await pendingRevisits(clickhouse, 0)
  const scheduleLoadMs = performance.now() - loading
  await producer.disconnect()
  await clickhouse.close()
  return {
    openInteractions: schedule.size,
    takeoverMs: Math.round(takeoverMs),
    scheduleLoadMs: Math.round(scheduleLoadMs),
    fillSeconds: Number(fillSeconds.toFixed(1)),
  }
}

if (import.meta.main) {
  const { brokers, stop } = await benchBrokers()
  const dataDir = path.join(root, `.data/bench/takeover-${Date.now()}`)
  const result = await measureTakeover({
    brokers,
    interactions: Number(process.env.TAKEOVER_INTERACTIONS ?? 100_000),
    dataDir,
  })
  process.stdout.write(`${JSON.stringify(result)}\n`)
  await rm(dataDir, { recursive: true, force: true })
  await stop()
  process.exit(0)
}
