// Gateway throughput: events/s through HTTP into Kafka, acknowledged. The gateway runs as its
// own process (as in production); load comes from this process with concurrent keep-alive
// clients posting NDJSON batches of simulated events. Prints a table and writes
// bench/results/ingest-<timestamp>.json. Options (environment): BENCH_SECONDS (20),
// BENCH_CONCURRENCY (8), BENCH_BATCH (500), KAFKA_BROKERS (else a broker on port 19192).
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { createKafka } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { parseScenario, simulate } from '@cpi/simulator'
import { benchBrokers, freePort, machine, percentile, root, waitUntilReady, writeResult } from './support.ts'

const seconds = Number(process.env.BENCH_SECONDS ?? 20)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8)
const batchSize = Number(process.env.BENCH_BATCH ?? 500)
const key = 'bench-ingest-key-0123456789'
const logger = createLogger({ service: 'bench', level: 'warn' })

const { brokers, stop: stopBroker } = await benchBrokers()

const topic = `bench.ingest.${Date.now()}`
const port = await freePort()
const gateway = spawn(process.execPath, [path.join(root, 'services/ingest/src/main.ts')], {
  env: {
    ...process.env,
    PORT: String(port),
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokers,
    CPI_EVENTS_TOPIC: topic,
    CPI_DEAD_LETTER_TOPIC: `${topic}.dlq`,
    CPI_INGEST_KEYS: key,
    CPI_INGEST_RATE_LIMIT: '10000000',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
})
const url = `http://127.0.0.1:${port}`
await waitUntilReady(url, 'the gateway')

// Valid simulated events (no planted faults), cut into NDJSON bodies once, before timing.
const now = Date.now()
const simulation = simulate(
  parseScenario({ seed: 99, ratePerSecond: 200, duplicateShare: 0, malformedShare: 0, lateShare: 0 }),
  { from: now - 3_600_000, to: now - 3_000_000 },
)
const texts = simulation.events.filter((event) => event.arrival <= now).map((event) => event.text)
const bodies: string[] = []
for (let start = 0; start + batchSize <= texts.length; start += batchSize) {
  bodies.push(`${texts.slice(start, start + batchSize).join('\n')}\n`)
}

let next = 0
let accepted = 0
let failed = 0
const latencies: number[] = []
const deadline = performance.now() + seconds * 1000
const started = performance.now()
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      const body = bodies[next++ % bodies.length] as string
      const sent = performance.now()
      const response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-ndjson' },
        body,
      })
      const answer = (await response.json()) as { accepted?: number }
      latencies.push(performance.now() - sent)
      if (response.status === 200) accepted += answer.accepted ?? 0
      else failed++
    }
  }),
)
const elapsed = (performance.now() - started) / 1000

const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench', logger })
const admin = kafka.admin()
await admin.connect()
const inKafka = (await admin.fetchTopicOffsets(topic)).reduce((sum, entry) => sum + Number(entry.high), 0)
await admin.disconnect()

gateway.kill('SIGTERM')
await once(gateway, 'exit')
await stopBroker()

latencies.sort((a, b) => a - b)
const result = {
  benchmark: 'ingest-gateway',
  at: new Date().toISOString(),
  machine: machine(),
  settings: {
    seconds,
    concurrency,
    batchSize,
    eventBytesMean: Math.round(texts.join('').length / texts.length),
  },
  eventsPerSecond: Math.round(accepted / elapsed),
  requestsPerSecond: Math.round(latencies.length / elapsed),
  requestLatencyMs: {
    p50: Number(percentile(latencies, 50).toFixed(1)),
    p99: Number(percentile(latencies, 99).toFixed(1)),
  },
  accepted,
  failedRequests: failed,
  inKafka,
}
const file = await writeResult('ingest', result)
process.stdout.write(
  [
    '',
    'ingest gateway → Kafka (acknowledged), one gateway process, load from one client process',
    `  events/s          ${result.eventsPerSecond}`,
    `  requests/s        ${result.requestsPerSecond}  (${batchSize} events each, ${concurrency} concurrent)`,
    `  request latency   p50 ${result.requestLatencyMs.p50} ms, p99 ${result.requestLatencyMs.p99} ms`,
    `  accepted          ${accepted} (in Kafka: ${inKafka}); failed requests ${failed}`,
    `  written to        ${file}`,
    '',
  ].join('\n'),
)
if (inKafka < accepted) {
  console.error('fewer events in Kafka than acknowledged: that is a bug')
  process.exit(1)
}
