// The pipeline benchmark (`npm run bench`): end-to-end throughput of simulator → Kafka →
// processor → ClickHouse, checked against the ground truth, as a ratio to this machine's
// ceilings (raw kafkajs consume of the same topic, raw insert of the same rows through the
// adapter), with the processor's peak RSS. The processor runs as its own process, as in
// production. Prints a table and writes bench/results/pipeline-<timestamp>.json.
// Then freshness (bench/freshness.ts), the takeover of a partition with 100,000 open interactions
// (bench/takeover.ts) and API query latency over 10 million stored events
// (bench/query-latency.ts). Options (environment): BENCH_EVENTS (1,000,000 events to produce),
// BENCH_QUERY_EVENTS (10,000,000; 0 skips), BENCH_SKIP (freshness, takeover: comma-separated parts
// not to run), BENCH_PROCESSOR_NODE_OPTIONS (the processor's NODE_OPTIONS), KAFKA_BROKERS; CLICKHOUSE_URL runs everything against that server instead of the
// embedded engine.
import { execFile, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { createClickHouse, insertEvents, migrateToLatest, type RawEventRow } from '@cpi/clickhouse'
import { BatchingProducer, createKafka, ensureTopics } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { kafkaSink, parseScenario, sendAll, simulate } from '@cpi/simulator'
import {
  partitionOfSubjects,
  storedValues,
  storedWatermarks,
  truthPerPartition,
} from '../test/support/engine-truth.ts'
import type { FreshnessResult } from './freshness.ts'
import type { PeerResult } from './kafka-engine-peer.ts'
import { measureQueryLatency } from './query-latency.ts'
import { routeRows } from './route-load.ts'
import { benchBrokers, benchDatabase, freePort, machine, root, writeResult } from './support.ts'
import type { TakeoverResult } from './takeover.ts'

const targetEvents = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const PARTITIONS = 6
const logger = createLogger({ service: 'bench', level: 'warn' })
const stamp = Date.now()
const dataDir = path.join(root, `.data/bench/pipeline-${stamp}`)
const say = (text: string) => process.stderr.write(`[bench] ${text}\n`)

const { brokers, stop: stopBroker } = await benchBrokers()
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench', logger })
const topic = `bench.pipeline.${stamp}`
await ensureTopics(kafka, [
  { topic, numPartitions: PARTITIONS },
  { topic: `${topic}.dlq`, numPartitions: 1 },
])

// The workload: the simulator's realistic mix (all CPIs, duplicates, reordering, late and
// invalid events included), a day ago, dense enough to give BENCH_EVENTS events.
const eventsPerInteraction = 2.3
const seconds = 600
const rate = Math.ceil(targetEvents / eventsPerInteraction / seconds)
const from = Date.now() - 24 * 3_600_000
say(`simulating ${rate} interactions/s over ${seconds} s of event time`)
const simulation = simulate(parseScenario({ seed: 2026, ratePerSecond: rate }), {
  from,
  to: from + seconds * 1000,
})
const sent = simulation.events.filter((event) => event.time <= Date.now())
const validIds = new Set(sent.filter((event) => !event.invalid).map((event) => event.id))

say(`producing ${sent.length} events`)
const producer = new BatchingProducer(kafka, { logger })
await producer.connect()
let started = performance.now()
await sendAll(sent, kafkaSink(producer, topic), 5000)
const produceSeconds = (performance.now() - started) / 1000
await producer.disconnect()

// Ceiling 1: kafkajs consuming the topic with no processing at all.
say('ceiling: raw consume')
const consumer = kafka.consumer({ groupId: `bench-raw-${stamp}`, maxBytes: 50 * 1024 * 1024 })
await consumer.connect()
await consumer.subscribe({ topic, fromBeginning: true })
let consumed = 0
const rows: RawEventRow[] = []
const allConsumed = new Promise<void>((resolve) => {
  started = performance.now()
  void consumer.run({
    eachBatchAutoResolve: true,
    eachBatch: async ({ batch }) => {
      consumed += batch.messages.length
      if (consumed >= sent.length) resolve()
    },
  })
})
await allConsumed
const consumeSeconds = (performance.now() - started) / 1000
await consumer.disconnect()

// Ceiling 2 (and everything after it): the embedded engine, or the server at CLICKHOUSE_URL.
// Ceiling 2: the same rows inserted into `events` through the adapter, in the processor's batch size.
say('ceiling: raw insert')
for (const [index, event] of sent.entries()) {
  if (event.invalid) continue
  rows.push({
    id: event.id,
    type: event.type,
    source: '/bench',
    subject: event.subject,
    time: new Date(event.time).toISOString(),
    payload: event.text,
    kafka_topic: topic,
    kafka_partition: index % PARTITIONS,
    kafka_offset: index,
  })
}
const ceilingEngine = createClickHouse({
  kind: 'embedded',
  path: path.join(dataDir, 'ceiling'),
  database: 'bench',
})
await migrateToLatest(ceilingEngine)
started = performance.now()
const insertBatch = 5000
for (let start = 0; start < rows.length; start += insertBatch) {
  await insertEvents(ceilingEngine, rows.slice(start, start + insertBatch))
}
const insertSeconds = (performance.now() - started) / 1000
await ceilingEngine.close()

// Peer: ClickHouse's own Kafka table engine with a materialized view, reading the same topic
// into the same raw table (parsing only: no validation, no dead letters, no outcomes — the
// ceiling of "let the database consume").
say('peer: the Kafka table engine of the embedded ClickHouse')
// In a process of its own: the embedded engine is a process singleton.
const peer = await new Promise<PeerResult>((resolve) => {
  const peerProcess = spawn(process.execPath, [path.join(root, 'bench/kafka-engine-peer.ts')], {
    env: {
      ...process.env,
      PEER_BROKERS: brokers,
      PEER_TOPIC: topic,
      ...benchDatabase('peer', dataDir, stamp).env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let output = ''
  peerProcess.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  peerProcess.on('exit', (code) => {
    try {
      resolve(JSON.parse(output) as PeerResult)
    } catch {
      resolve({ available: false, reason: `the peer process exited with ${code}: ${output.slice(0, 300)}` })
    }
  })
})

// End to end: the processor process from an empty database to every offset committed.
say('end to end: the processor process')
const groupId = `bench-processor-${stamp}`
const pipelineDatabase = benchDatabase('pipeline', dataDir, stamp)
// BENCH_PROFILE=1: a V8 CPU profile of the processor into bench/results/profiles/.
const profile =
  process.env.BENCH_PROFILE === '1'
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, 'bench/results/profiles')}`]
    : []
const processorPort = await freePort()
const child = spawn(process.execPath, [...profile, path.join(root, 'services/processor/src/main.ts')], {
  env: {
    ...process.env,
    PORT: String(processorPort),
    LOG_LEVEL: 'warn',
    KAFKA_BROKERS: brokers,
    CPI_EVENTS_TOPIC: topic,
    CPI_DEAD_LETTER_TOPIC: `${topic}.dlq`,
    CPI_PROCESSOR_GROUP: groupId,
    ...pipelineDatabase.env,
    // Judged on the stream's own clock: the truth is taken as of each partition's latest event.
    CPI_IDLE_AFTER_MS: String(10 * 365 * 24 * 3_600_000),
    // The processor's own Node flags (memory experiments), not this process's.
    ...(process.env.BENCH_PROCESSOR_NODE_OPTIONS
      ? { NODE_OPTIONS: process.env.BENCH_PROCESSOR_NODE_OPTIONS }
      : {}),
  },
  stdio: ['ignore', 'ignore', 'inherit'],
})
const rss: number[] = []
// The resident set in two parts: anonymous memory (heaps, the engine's allocations) and pages of
// mapped files (mostly the embedded engine's 500 MB library code, shared and reclaimable).
let peakAnonBytes = 0
let peakFileBytes = 0
const sampleRss = async () => {
  const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '')
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  if (kib > 0) rss.push(kib * 1024)
  peakAnonBytes = Math.max(peakAnonBytes, Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024)
  peakFileBytes = Math.max(peakFileBytes, Number(/RssFile:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024)
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
}
// Where the memory is: the V8 heap and off-heap buffers (from the processor's own metrics); the
// rest of the RSS is the embedded engine and the native code.
let peakHeapBytes = 0
let peakExternalBytes = 0
// Groups that failed and were retried: exact still, but a fault the figures would hide.
let groupFailures = 0
const sampleHeap = async () => {
  const text = await fetch(`http://127.0.0.1:${processorPort}/metrics`)
    .then((response) => response.text())
    .catch(() => '')
  const value = (name: string) =>
    Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? 0)
  peakHeapBytes = Math.max(peakHeapBytes, value('cpi_node_nodejs_heap_size_total_bytes'))
  peakExternalBytes = Math.max(peakExternalBytes, value('cpi_node_nodejs_external_memory_bytes'))
  groupFailures = Math.max(groupFailures, value('cpi_processor_group_failures_total'))
}
const admin = kafka.admin()
await admin.connect()
const ends = new Map(
  (await admin.fetchTopicOffsets(topic)).map((entry) => [entry.partition, Number(entry.high)]),
)
const total = [...ends.values()].reduce((sum, end) => sum + end, 0)
const committed = async () => {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return (offsets?.partitions ?? []).reduce((sum, entry) => sum + Math.max(0, Number(entry.offset)), 0)
}
// CPU the processor process used (all its threads: Node and the embedded engine), in seconds,
// over the same window as the throughput (from the first commit, or the start for a short run).
const ticksPerSecond = Number(
  (await promisify(execFile)('getconf', ['CLK_TCK']).catch(() => ({ stdout: '100' }))).stdout.trim(),
)
const cpuSeconds = async () => {
  const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8').catch(() => '')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / ticksPerSecond // utime + stime
}
const cpuAtStart = await cpuSeconds()
let cpuAtFirstProgress = cpuAtStart
const processStarted = performance.now()
let firstProgress: number | undefined
let peakRss = 0
const progress: { seconds: number; committed: number }[] = []
for (;;) {
  peakRss = Math.max(peakRss, await sampleRss())
  await sampleHeap()
  const done = await committed()
  const now = performance.now()
  if (done > 0 && firstProgress === undefined) {
    firstProgress = now
    cpuAtFirstProgress = await cpuSeconds()
  }
  progress.push({ seconds: (now - processStarted) / 1000, committed: done })
  if (done >= total) break
  if (now - processStarted > 3_600_000) throw new Error('the processor did not finish within an hour')
  await new Promise((resolve) => setTimeout(resolve, 250))
}
const finished = performance.now()
const cpuAtFinish = await cpuSeconds()
peakRss = Math.max(peakRss, await sampleRss())
await admin.disconnect()
// The sweep (every CPI_SWEEP_INTERVAL_MS, 1 s) decides interactions whose deadline the final
// watermark passed; give it a few rounds before stopping.
await new Promise((resolve) => setTimeout(resolve, 4000))
// Where the processor's time went: seconds per stage over the whole run (its own histogram).
const stageText = await fetch(`http://127.0.0.1:${processorPort}/metrics`)
  .then((response) => response.text())
  .catch(() => '')
const stages = Object.fromEntries(
  [...stageText.matchAll(/^cpi_processor_stage_seconds_sum\{[^}]*stage="([^"]+)"[^}]*\} (\S+)/gm)].map(
    (match) => [match[1] as string, Number(Number(match[2]).toFixed(2))],
  ),
)
child.kill('SIGTERM')
await once(child, 'exit')
// From the first commit; a run too short to see one before the last counts from the start.
const fromFirstCommit = firstProgress !== undefined && finished - firstProgress >= 1000
const endToEndSeconds = (finished - (fromFirstCommit ? (firstProgress as number) : processStarted)) / 1000
const wallSeconds = (finished - processStarted) / 1000
const processorCpuSeconds = cpuAtFinish - (fromFirstCommit ? cpuAtFirstProgress : cpuAtStart)

// A fast wrong answer is a failure: every window × segment value against the ground truth.
say('checking the CPIs against the ground truth')
const engine = createClickHouse(pipelineDatabase.settings)
const watermarks = await storedWatermarks(engine, topic)
const truth = truthPerPartition(simulation.facts, await partitionOfSubjects(engine), watermarks)
const values = await storedValues(engine)
let mismatches = 0
for (const row of truth.rows) {
  const got = values.get(`${row.cpi}|${row.windowStart}|${row.dimension}|${row.value}`)
  if (!got || got.good !== row.good || got.total !== row.total || got.pending !== row.pending) mismatches++
}
const storedEventsResult = await engine.reader.query({
  query: `SELECT uniqExact(id) AS n FROM ${engine.database}.events`,
  format: 'JSONEachRow',
})
const storedEvents = Number((await storedEventsResult.json<{ n: string }>())[0]?.n ?? 0)
await engine.close()

// Freshness at 5,000 events/s and near the maximum (80 % of the end-to-end rate just measured),
// in a process of its own: this one holds the whole workload in memory.
// (Capped at 50,000: a tiny BENCH_EVENTS run measures no sustainable rate.)
const nearMax = Math.min(50_000, Math.max(5000, Math.round(((total / endToEndSeconds) * 0.8) / 1000) * 1000))
const skipped = new Set((process.env.BENCH_SKIP ?? '').split(',').map((part) => part.trim()))
let freshness: FreshnessResult[] = []
if (!skipped.has('freshness')) {
  say(`freshness at 5000 and ${nearMax} events/s`)
  const running = promisify(execFile)(process.execPath, [path.join(root, 'bench/freshness.ts')], {
    env: { ...process.env, KAFKA_BROKERS: brokers, FRESHNESS_RATES: [...new Set([5000, nearMax])].join(',') },
    maxBuffer: 16 * 1024 * 1024,
    // A run takes about a minute per rate: one that hangs fails the benchmark instead of holding it.
    timeout: 10 * 60_000,
  })
  // Its warnings and errors (the processor's among them) go where this run's go.
  running.child.stderr?.pipe(process.stderr)
  const freshnessRun = await running
  freshness = freshnessRun.stdout
    .split('\n')
    .filter((line) => line.startsWith('{"targetEventsPerSecond"'))
    .map((line) => JSON.parse(line) as FreshnessResult)
}
// Takeover of a partition with 100,000 open interactions (bench/takeover.ts), in a process of its own.
let takeover: TakeoverResult | null = null
if (!skipped.has('takeover')) {
  say('takeover of a partition with 100000 open interactions')
  const takeoverRun = await promisify(execFile)(process.execPath, [path.join(root, 'bench/takeover.ts')], {
    env: { ...process.env, KAFKA_BROKERS: brokers },
    maxBuffer: 16 * 1024 * 1024,
  })
  takeover = JSON.parse(
    takeoverRun.stdout.split('\n').find((line) => line.startsWith('{"openInteractions"')) ?? 'null',
  ) as TakeoverResult | null
}
// Query latency of the API over a large stored history (synthetic, see bench/synthetic-load.ts).
const queryEvents = Number(process.env.BENCH_QUERY_EVENTS ?? 10_000_000)
say(`query latency over ${queryEvents} stored events`)
const query =
  queryEvents > 0
    ? await measureQueryLatency({ brokers, events: queryEvents, seconds: 15, connections: 8 })
    : null

await stopBroker()
await rm(dataDir, { recursive: true, force: true })

const perSecond = (count: number, seconds: number) => Math.round(count / seconds)
const result = {
  benchmark: 'pipeline',
  at: new Date().toISOString(),
  machine: machine(),
  /** Where ClickHouse ran: in the processor's process, or a server at CLICKHOUSE_URL (its own process). */
  engine: process.env.CLICKHOUSE_URL
    ? { kind: 'server', url: process.env.CLICKHOUSE_URL }
    : { kind: 'embedded' },
  /** What shaped the processor's memory: its fetch size and Node's flags. */
  processorSettings: {
    fetchBytesPerPartition: process.env.CPI_PROCESSOR_FETCH_BYTES ?? 'default',
    stateMaxBytes: process.env.CPI_PROCESSOR_STATE_MAX_BYTES ?? 'default',
    secondLane: process.env.CPI_PROCESSOR_SECOND_LANE ?? 'default',
    nodeOptions: process.env.BENCH_PROCESSOR_NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? '',
  },
  workload: {
    messages: total,
    validEvents: validIds.size,
    interactionsPerSecondOfEventTime: rate,
    partitions: PARTITIONS,
    eventBytesMean: Math.round(sent.reduce((sum, event) => sum + event.text.length, 0) / sent.length),
  },
  produce: { eventsPerSecond: perSecond(sent.length, produceSeconds) },
  ceilings: {
    rawConsumePerSecond: perSecond(consumed, consumeSeconds),
    rawInsertPerSecond: perSecond(rows.length, insertSeconds),
  },
  endToEnd: {
    eventsPerSecond: perSecond(total, endToEndSeconds),
    seconds: Number(endToEndSeconds.toFixed(1)),
    wallSecondsIncludingStart: Number(wallSeconds.toFixed(1)),
    ratioToRawConsume: 0,
    ratioToRawInsert: 0,
    progress,
  },
  groundTruth: {
    windowSegments: truth.rows.length,
    mismatches,
    storedEvents,
    validEvents: validIds.size,
    correct: mismatches === 0 && storedEvents === validIds.size,
  },
  processor: {
    peakRssMiB: Math.round(peakRss / 2 ** 20),
    meanRssMiB: Math.round(rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length) / 2 ** 20),
    peakV8HeapMiB: Math.round(peakHeapBytes / 2 ** 20),
    peakExternalMiB: Math.round(peakExternalBytes / 2 ** 20),
    groupFailures,
    cpuSeconds: Number(processorCpuSeconds.toFixed(1)),
    cpuMicrosecondsPerEvent: Math.round((processorCpuSeconds * 1e6) / Math.max(1, total)),
    peakAnonymousMiB: Math.round(peakAnonBytes / 2 ** 20),
    peakFileBackedMiB: Math.round(peakFileBytes / 2 ** 20),
    stageSeconds: stages,
  },
  freshness,
  takeover,
  query,
}
result.endToEnd.ratioToRawConsume = Number(
  (result.endToEnd.eventsPerSecond / result.ceilings.rawConsumePerSecond).toFixed(3),
)
result.endToEnd.ratioToRawInsert = Number(
  (result.endToEnd.eventsPerSecond / result.ceilings.rawInsertPerSecond).toFixed(3),
)
const file = await writeResult('pipeline', result)
const pct = (ratio: number) => `${(ratio * 100).toFixed(1)} %`
process.stdout.write(
  [
    '',
    `pipeline benchmark — ${result.machine.cpus} cores, ${result.machine.memoryGiB} GiB, Node ${result.machine.node}, broker and ${process.env.CLICKHOUSE_URL ? `the ClickHouse server at ${process.env.CLICKHOUSE_URL}` : 'embedded engine'} on the same machine`,
    `  workload            ${total} messages (${validIds.size} valid events), ${PARTITIONS} partitions, mean ${result.workload.eventBytesMean} B`,
    `  produce             ${result.produce.eventsPerSecond} events/s`,
    `  ceiling: consume    ${result.ceilings.rawConsumePerSecond} messages/s (kafkajs, no processing)`,
    `  ceiling: insert     ${result.ceilings.rawInsertPerSecond} rows/s (adapter, batches of ${insertBatch})`,
    peer.available
      ? `  peer: Kafka engine  ${peer.rowsPerSecond} rows/s (ClickHouse's Kafka table engine + materialized view into the same raw table; no validation, no outcomes)`
      : `  peer: Kafka engine  not measured: ${peer.reason}`,
    `  end to end          ${result.endToEnd.eventsPerSecond} events/s over ${result.endToEnd.seconds} s (${pct(result.endToEnd.ratioToRawConsume)} of consume, ${pct(result.endToEnd.ratioToRawInsert)} of insert)`,
    `  ground truth        ${result.groundTruth.correct ? 'correct' : 'WRONG'}: ${truth.rows.length} window × segment values, ${mismatches} mismatches; ${storedEvents} of ${validIds.size} valid events stored`,
    ...freshness.map(
      (f) =>
        `  freshness @${String(f.targetEventsPerSecond).padEnd(6)} p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms (${f.visible}/${f.markers} markers, ${f.achievedEventsPerSecond} events/s achieved, produced → visible in the rollup)`,
    ),
    takeover
      ? `  takeover            ${takeover.takeoverMs} ms from a fresh processor's start to the next event of one of ${takeover.openInteractions} open interactions decided (schedule load alone ${takeover.scheduleLoadMs} ms)`
      : '  takeover            not measured',
    ...(query
      ? [
          `  API queries         over ${query.events} stored events (${query.outcomes} outcomes, synthetic), 8 concurrent clients:`,
          ...routeRows(query.results).map((row) => `    ${row.trim()}`),
        ]
      : ['  API queries         not measured (BENCH_QUERY_EVENTS=0)']),
    `  processor RSS       peak ${result.processor.peakRssMiB} MiB, mean ${result.processor.meanRssMiB} MiB (V8 heap peak ${result.processor.peakV8HeapMiB} MiB, off-heap buffers ${result.processor.peakExternalMiB} MiB; ${process.env.CLICKHOUSE_URL ? 'the engine is the server at CLICKHOUSE_URL, in its own process' : 'the rest is the embedded engine'}; anonymous peak ${result.processor.peakAnonymousMiB} MiB, file-backed peak ${result.processor.peakFileBackedMiB} MiB)`,
    `  processor CPU       ${result.processor.cpuSeconds} s over the end-to-end time (Node and the embedded engine's threads): ${result.processor.cpuMicrosecondsPerEvent} µs per message; ${result.processor.groupFailures} groups failed and were retried`,
    `  processor stages    ${Object.entries(stages)
      .sort((a, b) => b[1] - a[1])
      .map(([stage, seconds]) => `${stage} ${seconds} s`)
      .join(', ')} (over the whole run, sweeps included)`,
    `  written to          ${file}`,
    '',
  ].join('\n'),
)
if (!result.groundTruth.correct) process.exit(1)
