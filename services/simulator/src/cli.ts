// `cpi simulate`: realistic CPI event streams with a known ground truth.
//
//   cpi simulate --duration 10m [--from ISO] [--rate 50] [--seed 7] [--target kafka|http|stdout]
//                [--scenario file.json] [--truth truth.json] [--as-of ISO]
//   cpi simulate --live [--backfill-hours 24] [--rate 2] [--target http]
//
// Bounded runs draw every interaction starting in [from, from + duration), send the events
// that have arrived by --as-of (default: now) in arrival order, and write the ground truth as
// of that time. Live runs play in real time until Ctrl-C.
import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { BatchingProducer, createKafka, ensureTopics } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { simulate } from './generate.ts'
import { groundTruth } from './ground-truth.ts'
import { sendAll, startPlayer } from './player.ts'
import { parseScenario } from './scenario.ts'
import { type EventSink, httpSink, kafkaSink } from './sinks.ts'

const { values } = parseArgs({
  options: {
    duration: { type: 'string' },
    from: { type: 'string' },
    rate: { type: 'string' },
    seed: { type: 'string' },
    target: { type: 'string', default: 'kafka' },
    scenario: { type: 'string' },
    truth: { type: 'string' },
    'as-of': { type: 'string' },
    live: { type: 'boolean', default: false },
    'backfill-hours': { type: 'string', default: '0' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092' },
    topic: { type: 'string', default: process.env.CPI_EVENTS_TOPIC ?? 'cpi.events' },
    url: { type: 'string', default: `http://127.0.0.1:${process.env.PORT ?? '8080'}` },
    key: { type: 'string', default: process.env.CPI_INGEST_KEY ?? '' },
    help: { type: 'boolean', default: false },
  },
})

function fail(message: string): never {
  console.error(`cpi simulate: ${message}`)
  process.exit(2)
}

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text)
  if (!match)
    fail(`--duration: expected a number with ms, s, m, h or d (e.g. 10m), got ${JSON.stringify(text)}`)
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms']
  return Number(match[1]) * unit
}

if (values.help) {
  process.stdout.write(
    `${(await readFile(new URL(import.meta.url), 'utf8')).split('\n').slice(0, 11).join('\n')}\n`,
  )
  process.exit(0)
}

const logger = createLogger({
  service: 'simulator',
  level: process.env.LOG_LEVEL ?? 'info',
  destination: process.stderr,
})
const fileScenario = values.scenario ? JSON.parse(await readFile(values.scenario, 'utf8')) : {}
const scenario = parseScenario({
  ...fileScenario,
  ...(values.seed === undefined ? {} : { seed: Number(values.seed) }),
  ...(values.rate === undefined ? {} : { ratePerSecond: Number(values.rate) }),
})

let producer: BatchingProducer | undefined
let sink: EventSink
if (values.target === 'kafka') {
  const kafka = createKafka({ brokers: values.brokers.split(','), clientId: 'cpi-simulator', logger })
  await ensureTopics(kafka, [{ topic: values.topic, numPartitions: 6 }])
  producer = new BatchingProducer(kafka, { logger })
  await producer.connect()
  sink = kafkaSink(producer, values.topic)
} else if (values.target === 'http') {
  if (!values.key) fail('--target http needs --key (or CPI_INGEST_KEY); the local key is in .data/ingest-key')
  sink = httpSink({ url: values.url, key: values.key })
} else if (values.target === 'stdout') {
  sink = {
    name: 'stdout',
    send: async (events) => {
      process.stdout.write(`${events.map((event) => event.text).join('\n')}\n`)
    },
  }
} else {
  fail(`--target: expected kafka, http or stdout, got ${JSON.stringify(values.target)}`)
}

if (values.live) {
  const from = Date.now() - Number(values['backfill-hours']) * 3_600_000
  const player = startPlayer({ scenario, sink, logger, from })
  logger.info({ sink: sink.name, rate: scenario.ratePerSecond }, 'playing live; Ctrl-C stops')
  const stop = async () => {
    await player.stop()
    await producer?.disconnect()
    logger.info(player.stats(), 'stopped')
    process.exit(0)
  }
  process.once('SIGINT', () => void stop())
  process.once('SIGTERM', () => void stop())
} else {
  if (!values.duration) fail('expected --duration (a bounded run) or --live')
  const length = parseDuration(values.duration)
  const asOf = values['as-of'] ? Date.parse(values['as-of']) : Date.now()
  const from = values.from ? Date.parse(values.from) : asOf - length
  if (!Number.isFinite(from) || !Number.isFinite(asOf)) fail('--from and --as-of take RFC 3339 times')
  const simulation = simulate(scenario, { from, to: from + length })
  const events = simulation.events.filter((event) => event.arrival <= asOf)
  const started = performance.now()
  await sendAll(events, sink)
  await producer?.disconnect()
  const seconds = (performance.now() - started) / 1000
  logger.info(
    {
      ...simulation.stats,
      sent: events.length,
      seconds: Number(seconds.toFixed(2)),
      perSecond: Math.round(events.length / seconds),
    },
    'simulation sent',
  )
  if (values.truth) {
    const truth = groundTruth(simulation.facts, { asOf })
    const { outcomes: _outcomes, ...summary } = truth
    await writeFile(
      values.truth,
      `${JSON.stringify({ scenario, from: new Date(from).toISOString(), to: new Date(from + length).toISOString(), stats: simulation.stats, sent: events.length, ...summary }, null, 1)}\n`,
    )
    logger.info({ file: values.truth, totals: truth.totals }, 'ground truth written')
  }
}
