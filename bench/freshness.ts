// Freshness: event produced → visible in the CPI rollup, at a steady rate. The processor runs in
// this process (its own consumer group, its own ClickHouse connections); a marker quote request
// with a unique subject — and its own `product` segment value — is produced every 100 ms among the
// simulated load, and a poller looks the markers up every 20 ms on the query connection in
// `cpi_rollup`, the minute rows every CPI read (API, alerter, views) answers from (decision 0015).
// Used by bench/pipeline.ts; alone:
// `node bench/freshness.ts` with FRESHNESS_RATES (events/s, comma-separated, default 5000).
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { createClickHouse, migrateToLatest, observeStatements } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { BatchingProducer, createKafka, ensureTopics } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import { parseScenario, simulate } from '@cpi/simulator'
import { benchBrokers, benchDatabase, percentile, root } from './support.ts'

export interface FreshnessResult {
  targetEventsPerSecond: number
  achievedEventsPerSecond: number
  seconds: number
  markers: number
  visible: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  /** The processor's seconds per stage over the run, and how many times each ran. */
  stages: Record<string, { seconds: number; count: number }>
  /**
   * Every engine statement run in this process over the run (the processor's and the poller's),
   * by name and connection: seconds in all, how many runs, and the slowest run in ms.
   */
  statements: Record<string, { seconds: number; count: number; maxMs: number }>
  /**
   * CPU of this process (processor, its embedded engine, and the load's producer) over the send,
   * in cores (1 = one core busy all the time), and the groups of batches the processor wrote.
   */
  processCores: number
  groups: number
  /** Mean time from a group's insert of events to its last write (`cpi_processor_write_seconds`), ms. */
  meanWriteMs: number
}

/** The markers sent: when each was produced, and when each became visible in the rollup. */
interface Markers {
  produced: Map<string, number>
  seen: Map<string, number>
}

/** What the sender tells the poller: whether load is still being sent, and when it last sent. */
interface SendState {
  polling: boolean
  lastSend: number
}

export async function measureFreshness(options: {
  brokers: string
  ratePerSecond: number
  seconds: number
  dataDir: string
}): Promise<FreshnessResult> {
  const stamp = Date.now()
  const statements: FreshnessResult['statements'] = {}
  const stopObserving = observeStatements((run) => {
    const key = `${run.name} (${run.connection})`
    const entry = statements[key] ?? { seconds: 0, count: 0, maxMs: 0 }
    statements[key] = entry
    entry.seconds += run.seconds
    entry.count++
    entry.maxMs = Math.max(entry.maxMs, Math.round(run.seconds * 1000))
  })
  const pipeline = await startPipeline(options, stamp)

  // The load: valid simulated events whose time is "now" when they are sent. Follow-ups beyond
  // the window (deliveries, surveys) fall outside it, so the interaction rate is calibrated on a
  // first pass to give the target event rate inside the window.
  const start = Date.now() + 5000
  const end = start + options.seconds * 1000
  const load = calibratedLoad(options.ratePerSecond, options.seconds, start, end)
  const state: SendState = { polling: true, lastSend: Date.now() }
  const markers: Markers = { produced: new Map(), seen: new Map() }
  const poller = pollMarkers(pipeline.clickhouse, markers, state)

  const sentAt = Date.now()
  const cpuBefore = process.cpuUsage()
  await sendLoad(pipeline, load, { stamp, start, markers, state })
  const sendSeconds = (Date.now() - sentAt) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  state.polling = false
  await poller
  await pipeline.producer.disconnect()
  await pipeline.processor.stop()
  await pipeline.clickhouse.close()
  stopObserving()
  for (const entry of Object.values(statements)) entry.seconds = Number(entry.seconds.toFixed(2))
  const stages = await stageSeconds(pipeline.registry)

  const delays = [...markers.produced].flatMap(([subject, at]) => {
    const visible = markers.seen.get(subject)
    return visible === undefined ? [] : [visible - at]
  })
  delays.sort((a, b) => a - b)
  return {
    targetEventsPerSecond: options.ratePerSecond,
    achievedEventsPerSecond: Math.round((load.length + markers.produced.size) / sendSeconds),
    seconds: options.seconds,
    markers: markers.produced.size,
    visible: delays.length,
    p50Ms: Math.round(percentile(delays, 50)),
    p99Ms: Math.round(percentile(delays, 99)),
    maxMs: Math.round(delays.at(-1) ?? 0),
    stages,
    statements,
    processCores: Number(((cpu.user + cpu.system) / 1e6 / sendSeconds).toFixed(2)),
    groups: stages.validate?.count ?? 0,
    meanWriteMs: await meanWriteMs(pipeline.registry),
  }
}

/** Creates the run's topics and database, and starts the processor and a producer on them. */
async function startPipeline(options: { brokers: string; dataDir: string }, stamp: number) {
  const logger = createLogger({ service: 'bench', level: 'warn' })
  const topic = `bench.freshness.${stamp}`
  const kafka = createKafka({ brokers: options.brokers.split(','), clientId: 'bench', logger })
  await ensureTopics(kafka, [
    { topic, numPartitions: 6 },
    { topic: `${topic}.dlq`, numPartitions: 1 },
  ])
  const config = loadConfig({
    KAFKA_BROKERS: options.brokers,
    CPI_EVENTS_TOPIC: topic,
    CPI_DEAD_LETTER_TOPIC: `${topic}.dlq`,
    CPI_PROCESSOR_GROUP: `bench-freshness-${stamp}`,
    ...benchDatabase('freshness', options.dataDir, stamp).env,
    // The processor's settings of this run (fetch size, keyed state, second lane), as the pipeline passes them.
    ...Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => name.startsWith('CPI_PROCESSOR_') && name !== 'CPI_PROCESSOR_GROUP',
      ),
    ),
    LOG_LEVEL: 'warn',
  })
  const clickhouse = createClickHouse(config.clickhouse)
  await migrateToLatest(clickhouse)
  const registry = createMetricsRegistry({ service: 'bench' })
  const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
  await processor.started
  const producer = new BatchingProducer(kafka, { logger })
  await producer.connect()
  return { topic, clickhouse, registry, processor, producer }
}

type Pipeline = Awaited<ReturnType<typeof startPipeline>>

/** Simulated events in [start, end), ordered by time, at about `ratePerSecond` events inside the window. */
function calibratedLoad(ratePerSecond: number, seconds: number, start: number, end: number) {
  const generate = (interactionsPerSecond: number) =>
    simulate(
      parseScenario({
        seed: 77,
        ratePerSecond: interactionsPerSecond,
        duplicateShare: 0,
        outOfOrderShare: 0,
        lateShare: 0,
        malformedShare: 0,
      }),
      { from: start, to: end },
    ).events.filter((event) => event.time < end)
  const probe = generate(ratePerSecond / 2.3).length / seconds
  const load = generate((ratePerSecond / 2.3) * (ratePerSecond / probe))
  load.sort((a, b) => a.time - b.time)
  return load
}

/**
 * Looks the markers not yet seen up in the minute rows every 20 ms, noting when each appears;
 * after the load, until every marker is seen or 30 s passed since the last send.
 */
async function pollMarkers(clickhouse: Pipeline['clickhouse'], markers: Markers, state: SendState) {
  const { produced, seen } = markers
  while (state.polling || seen.size < produced.size) {
    const waiting = [...produced.keys()].filter((subject) => !seen.has(subject))
    if (waiting.length > 0) {
      const result = await clickhouse.reader.query({
        query: `SELECT DISTINCT value FROM ${clickhouse.database}.cpi_rollup
                WHERE cpi = 'fast_quote' AND grain = 60 AND dimension = 'product'
                  AND value IN {subjects:Array(String)}`,
        query_params: { subjects: waiting },
        format: 'JSONEachRow',
      })
      const at = Date.now()
      for (const row of await result.json<{ value: string }>())
        if (!seen.has(row.value)) seen.set(row.value, at)
    }
    if (!state.polling && Date.now() - state.lastSend > 30_000) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Sends each event of the load when its time comes, with a marker every 100 ms from `start`. */
async function sendLoad(
  pipeline: Pipeline,
  load: readonly { time: number; key: string; text: string }[],
  run: { stamp: number; start: number; markers: Markers; state: SendState },
) {
  let next = 0
  let marker = 0
  let nextMarkerAt = run.start
  while (next < load.length) {
    const now = Date.now()
    const due: { key: string; value: string }[] = []
    while (next < load.length && (load[next]?.time ?? 0) <= now) {
      const event = load[next++] as (typeof load)[number]
      due.push({ key: event.key, value: event.text })
    }
    if (now >= nextMarkerAt) {
      nextMarkerAt += 100
      const subject = `fresh-${run.stamp}-${marker++}`
      due.push({ key: subject, value: markerEvent(subject, now) })
      run.markers.produced.set(subject, now)
    }
    if (due.length > 0) void pipeline.producer.send(pipeline.topic, due)
    run.state.lastSend = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** A marker: a quote request whose subject is also its `product`, the segment value the poller looks up. */
function markerEvent(subject: string, now: number): string {
  return JSON.stringify({
    specversion: '1.0',
    id: `${subject}-requested`,
    source: '/bench/freshness',
    type: 'quote.requested',
    time: new Date(now).toISOString(),
    subject,
    data: {
      customerId: 'bench',
      customerType: 'consumer',
      channel: 'web',
      product: subject,
      region: 'bench',
    },
  })
}

/** The mean of `cpi_processor_write_seconds` over the run, in ms. */
async function meanWriteMs(registry: Pipeline['registry']): Promise<number> {
  const metric = await registry.getSingleMetric('cpi_processor_write_seconds')?.get()
  const named = (suffix: string) =>
    metric?.values.find((value) => (value as { metricName?: string }).metricName?.endsWith(suffix))?.value ??
    0
  const count = named('_count')
  return count === 0 ? 0 : Math.round((named('_sum') / count) * 1000 * 10) / 10
}

/** The processor's seconds per stage over the run, and how many times each ran. */
async function stageSeconds(registry: Pipeline['registry']): Promise<FreshnessResult['stages']> {
  const stages: FreshnessResult['stages'] = {}
  const metric = await registry.getSingleMetric('cpi_processor_stage_seconds')?.get()
  for (const value of metric?.values ?? []) {
    const stage = String(value.labels.stage)
    const entry = stages[stage] ?? { seconds: 0, count: 0 }
    stages[stage] = entry
    const name = (value as { metricName?: string }).metricName ?? ''
    if (name.endsWith('_sum')) entry.seconds = Number(value.value.toFixed(2))
    if (name.endsWith('_count')) entry.count = value.value
  }
  return stages
}

if (import.meta.main) {
  const { brokers, stop } = await benchBrokers()
  const rates = (process.env.FRESHNESS_RATES ?? '5000').split(',').map(Number)
  for (const rate of rates) {
    const dataDir = path.join(root, `.data/bench/freshness-${Date.now()}`)
    const result = await measureFreshness({ brokers, ratePerSecond: rate, seconds: 30, dataDir })
    process.stdout.write(`${JSON.stringify(result)}\n`)
    await rm(dataDir, { recursive: true, force: true })
  }
  await stop()
  process.exit(0)
}
