// The Kafka client (decision 0017): kafkajs, which the adapter (`packages/kafka`) wraps, against
// `@platformatic/kafka` (pure JavaScript, from npm), on the same broker and the same messages.
// For each client, alternately and twice: producing the workload into a topic of its own, then
// consuming a topic from the beginning in a consumer group with nothing done per message — the
// part of the processor's work that is the client's. Figures: messages per second and CPU of
// this process per message (both clients run in it, one at a time).
// `node bench/kafka-clients.ts` (BENCH_EVENTS messages, default 1,000,000); writes
// bench/results/kafka-clients-<time>.json.

import { BatchingProducer, createKafka, ensureTopics } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { kafkaSink, parseScenario, sendAll, simulate } from '@cpi/simulator'
import { Consumer, Producer } from '@platformatic/kafka'
import { benchBrokers, machine, writeResult } from './support.ts'

const targetEvents = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const PARTITIONS = 6
const FETCH_BYTES = 4 * 1024 * 1024 // the processor's default fetch per partition
const say = (text: string) => process.stderr.write(`[bench] ${text}\n`)
const logger = createLogger({ service: 'bench', level: 'warn' })

const { brokers, stop } = await benchBrokers()
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench', logger })
const stamp = Date.now()

// The pipeline benchmark's workload: simulated events, keyed by subject.
const seconds = 600
const rate = Math.ceil(targetEvents / 2.3 / seconds)
const from = Date.now() - 24 * 3_600_000
const events = simulate(parseScenario({ seed: 2026, ratePerSecond: rate }), {
  from,
  to: from + seconds * 1000,
}).events.filter((event) => event.time <= Date.now())
const messages = events.map((event) => ({ key: event.key, value: event.text }))
const bytes = messages.reduce((sum, message) => sum + message.key.length + message.value.length, 0)
say(`${messages.length} messages, ${(bytes / 2 ** 20).toFixed(0)} MiB of keys and values`)

interface Figure {
  messages: number
  seconds: number
  perSecond: number
  cpuMicrosPerMessage: number
}

/** Runs `work` and measures its wall time and this process's CPU (user + system). */
async function measure(count: number, work: () => Promise<void>): Promise<Figure> {
  const cpu = process.cpuUsage()
  const started = performance.now()
  await work()
  const elapsed = (performance.now() - started) / 1000
  const used = process.cpuUsage(cpu)
  return {
    messages: count,
    seconds: Number(elapsed.toFixed(2)),
    perSecond: Math.round(count / elapsed),
    cpuMicrosPerMessage: Number(((used.user + used.system) / count).toFixed(2)),
  }
}

async function produceKafkajs(topic: string): Promise<void> {
  const producer = new BatchingProducer(kafka, { logger })
  await producer.connect()
  await sendAll(events, kafkaSink(producer, topic), 5000)
  await producer.disconnect()
}

async function producePlatformatic(topic: string): Promise<void> {
  const producer = new Producer({ clientId: 'bench-platformatic', bootstrapBrokers: brokers.split(',') })
  // As the kafkajs run sends: 5,000 messages per send, one send at a time.
  for (let start = 0; start < messages.length; start += 5000) {
    await producer.send({
      messages: messages.slice(start, start + 5000).map((message) => ({
        topic,
        key: Buffer.from(message.key),
        value: Buffer.from(message.value),
      })),
    })
  }
  await producer.close()
}

async function consumeKafkajs(topic: string): Promise<void> {
  const consumer = kafka.consumer({
    groupId: `bench-kafkajs-${topic}`,
    maxBytesPerPartition: FETCH_BYTES,
    maxBytes: PARTITIONS * FETCH_BYTES,
  })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let consumed = 0
  await new Promise<void>((resolve) => {
    void consumer.run({
      partitionsConsumedConcurrently: PARTITIONS,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        consumed += batch.messages.length
        if (consumed >= messages.length) resolve()
      },
    })
  })
  await consumer.disconnect()
}

async function consumePlatformatic(topic: string): Promise<void> {
  const consumer = new Consumer({
    groupId: `bench-platformatic-${topic}`,
    clientId: 'bench-platformatic',
    bootstrapBrokers: brokers.split(','),
  })
  const stream = await consumer.consume({
    topics: [topic],
    mode: 'earliest',
    autocommit: false,
    maxBytesPerPartition: FETCH_BYTES,
    maxBytes: PARTITIONS * FETCH_BYTES,
  })
  let consumed = 0
  await new Promise<void>((resolve, reject) => {
    stream.on('data', () => {
      consumed++
      if (consumed === messages.length) resolve()
    })
    stream.on('error', reject)
  })
  await stream.close()
  await consumer.close(true)
}

const clients = {
  kafkajs: { produce: produceKafkajs, consume: consumeKafkajs },
  platformatic: { produce: producePlatformatic, consume: consumePlatformatic },
}
const runs: { client: string; round: number; produce: Figure; consume: Figure }[] = []
for (const round of [1, 2]) {
  for (const [client, run] of Object.entries(clients)) {
    const topic = `bench.clients.${stamp}.${client}.${round}`
    await ensureTopics(kafka, [{ topic, numPartitions: PARTITIONS }])
    say(`${client}, round ${round}: producing`)
    const produce = await measure(messages.length, () => run.produce(topic))
    say(`${client}, round ${round}: consuming`)
    const consume = await measure(messages.length, () => run.consume(topic))
    runs.push({ client, round, produce, consume })
    process.stdout.write(`${JSON.stringify({ client, round, produce, consume })}\n`)
  }
}

const result = {
  at: new Date().toISOString(),
  machine: machine(),
  brokers: 'local Apache Kafka (infra/kafka/kafka.sh), one broker',
  messages: messages.length,
  megabytes: Number((bytes / 2 ** 20).toFixed(1)),
  partitions: PARTITIONS,
  fetchBytesPerPartition: FETCH_BYTES,
  runs,
}
const file = await writeResult('kafka-clients', result)
say(`written ${file}`)
await stop()
process.exit(0)
