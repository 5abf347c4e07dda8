// Freshness: event produced → visible in the CPI rollup, at a steady rate. The processor runs in
// this process (its own consumer group, its own ClickHouse connections); a marker quote request
// with a unique subject — and its own `product` segment value — is produced every 100 ms among the
// simulated load, and a poller looks the markers up every 20 ms on the query connection in
// `cpi_rollup`, the minute rows every CPI read (API, alerter, views) answers from (decision 0015).
// Used by bench/pipeline.ts; alone:
// `node bench/freshness.ts` with FRESHNESS_RATES (events/s, comma-separated, default 5000).
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { createClickHouse, migrateToLatest } from '@cpi/clickhouse'
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
}

export async function measureFreshness(options: {
  brokers: string
  ratePerSecond: number
  seconds: number
  dataDir: string
}): Promise<FreshnessResult> {
  const logger = createLogger({ service: 'bench', level: 'warn' })
  const stamp = Date.now()
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
    LOG_LEVEL: 'warn',
  })
  const clickhouse = createClickHouse(config.clickhouse)
  await migrateToLatest(clickhouse)
  const registry = createMetricsRegistry({ service: 'bench' })
  const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
  await processor.started
  const producer = new BatchingProducer(kafka, { logger })
  await producer.connect()

  // The load: valid simulated events whose time is "now" when they are sent. Follow-ups beyond
  // the window (deliveries, surveys) fall outside it, so the interaction rate is calibrated on a
  // first pass to give the target event rate inside the window.
  const start = Date.now() + 5000
  const end = start + options.seconds * 1000
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
  const probe = generate(options.ratePerSecond / 2.3).length / options.seconds
  const load = generate((options.ratePerSecond / 2.3) * (options.ratePerSecond / probe))
  load.sort((a, b) => a.time - b.time)
  let lastSend = Date.now()

  const produced = new Map<string, number>()
  const seen = new Map<string, number>()
  let polling = true
  const poller = (async () => {
    while (polling || seen.size < produced.size) {
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
      if (!polling && Date.now() - lastSend > 30_000) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()

  let next = 0
  let marker = 0
  let nextMarkerAt = start
  const sentAt = Date.now()
  while (next < load.length) {
    const now = Date.now()
    const due: { key: string; value: string }[] = []
    while (next < load.length && (load[next]?.time ?? 0) <= now) {
      const event = load[next++] as (typeof load)[number]
      due.push({ key: event.key, value: event.text })
    }
    if (now >= nextMarkerAt) {
      nextMarkerAt += 100
      const subject = `fresh-${stamp}-${marker++}`
      due.push({
        key: subject,
        value: JSON.stringify({
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
        }),
      })
      produced.set(subject, now)
    }
    if (due.length > 0) void producer.send(topic, due)
    lastSend = Date.now()
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const sendSeconds = (Date.now() - sentAt) / 1000
  polling = false
  await poller
  await producer.disconnect()
  await processor.stop()
  await clickhouse.close()
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

  const delays = [...produced].flatMap(([subject, at]) => {
    const visible = seen.get(subject)
    return visible === undefined ? [] : [visible - at]
  })
  delays.sort((a, b) => a - b)
  return {
    targetEventsPerSecond: options.ratePerSecond,
    achievedEventsPerSecond: Math.round((load.length + produced.size) / sendSeconds),
    seconds: options.seconds,
    markers: produced.size,
    visible: delays.length,
    p50Ms: Math.round(percentile(delays, 50)),
    p99Ms: Math.round(percentile(delays, 99)),
    maxMs: Math.round(delays.at(-1) ?? 0),
    stages,
  }
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
