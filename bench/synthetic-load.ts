// Fills an embedded ClickHouse data directory with a large synthetic history for the query
// latency benchmark, inside ClickHouse (INSERT … SELECT FROM numbers()), in seconds instead of
// the hours the pipeline would need: SYNTHETIC_EVENTS raw events over the last 7 days and the
// outcomes of their interactions (one interaction per 2.3 events; the simulator's CPIs, segment
// dimensions and values, states and latencies in realistic proportions), plus watermarks at
// now, and the rollup of those outcomes. Shaped like the pipeline's output, not produced by it —
// the benchmark says so.
// Usage: node bench/synthetic-load.ts <events> with CLICKHOUSE_PATH (embedded) or CLICKHOUSE_URL
// (a server), and CLICKHOUSE_DATABASE. Prints one JSON line.
import { createClickHouse, migrateToLatest, rebuildRollups } from '@cpi/clickhouse'
import { databaseFromEnvironment } from './support.ts'

const [eventsText] = process.argv.slice(2)
const events = Number(eventsText ?? 10_000_000)
const interactions = Math.round(events / 2.3)
const clickhouse = createClickHouse(databaseFromEnvironment('cpi'))
const database = clickhouse.database
await migrateToLatest(clickhouse)
const now = Date.now()
const days = 7
const started = performance.now()

// Which CPIs an interaction of each kind feeds, with its dimensions.
const kinds = `[
  ('fast_quote', ['channel', 'region', 'product', 'customerType']),
  ('on_time_in_full', ['region', 'carrier']),
  ('first_time_resolution', ['channel', 'region', 'category']),
  ('phone_answer_20s', ['queue', 'region'])
]`
const values = `map(
  'channel', ['web', 'phone', 'agent', 'broker', 'partner'],
  'region', ['north', 'south', 'east', 'west'],
  'product', ['home', 'motor', 'travel', 'life'],
  'customerType', ['consumer', 'business'],
  'carrier', ['dhl', 'ups', 'postnl', 'gls'],
  'category', ['billing', 'claims', 'technical', 'other'],
  'queue', ['claims', 'billing', 'sales']
)`

await clickhouse.writer.command({
  query: `INSERT INTO ${database}.events (id, type, source, subject, time, payload, kafka_topic, kafka_partition, kafka_offset)
          SELECT concat('e-', toString(number)) AS id,
                 ['quote.requested', 'quote.issued', 'delivery.scheduled', 'ticket.opened', 'call.queued'][1 + number % 5] AS type,
                 '/synthetic' AS source,
                 concat('i-', toString(intDiv(number * 10, 23))) AS subject,
                 fromUnixTimestamp64Milli(toInt64(${now} - ${days} * 86400000 + intDiv(number * 10, 23) * ${(days * 86_400_000) / interactions}), 'UTC') AS time,
                 concat('{"specversion":"1.0","id":"e-', toString(number), '","data":{"customerId":"c-', toString(number % 100000), '","pad":"', randomPrintableASCII(120), '"}}') AS payload,
                 'cpi.events' AS kafka_topic, number % 6 AS kafka_partition, intDiv(number, 6) AS kafka_offset
          FROM numbers(${events})`,
  clickhouse_settings: { max_insert_threads: '2' },
})

await clickhouse.writer.command({
  query: `INSERT INTO ${database}.outcomes (cpi, definition_version, subject, cohort_at, state, status, latency_ms, open, segments, revisit_at, watermark, kafka_partition, version)
          SELECT kind.1 AS cpi, 1, concat('i-', toString(number)) AS subject,
                 fromUnixTimestamp64Milli(toInt64(${now} - ${days} * 86400000 + number * ${(days * 86_400_000) / interactions}), 'UTC') AS cohort_at,
                 multiIf(cohort_at > now64(3) - INTERVAL 2 MINUTE AND rand(1) % 3 = 0, 'pending', rand(2) % 100 < 86, 'good', 'bad') AS state,
                 '' AS status,
                 if(kind.1 = 'on_time_in_full' OR state = 'pending', NULL, toInt64(exp(ln(12000) + 0.8 * (randNormal(0, 1)))) ) AS latency_ms,
                 0 AS open,
                 mapFromArrays(kind.2, arrayMap(d -> ${values}[d][1 + (cityHash64(number, d) % length(${values}[d]))], kind.2)) AS segments,
                 NULL AS revisit_at, now64(3) AS watermark, number % 6 AS kafka_partition, 1 AS version
          FROM numbers(${interactions})
          ARRAY JOIN [${kinds}[1 + number % 4]] AS kind`,
  clickhouse_settings: { max_insert_threads: '2' },
})

await clickhouse.writer.insert({
  table: `${database}.watermarks`,
  values: Array.from({ length: 6 }, (_, partition) => ({
    topic: 'cpi.events',
    partition,
    watermark: new Date(now).toISOString(),
    max_event_time: new Date(now).toISOString(),
  })),
  format: 'JSONEachRow',
})
await clickhouse.writer.command({ query: `OPTIMIZE TABLE ${database}.outcomes FINAL` })
// The rollup the processor keeps as it writes outcomes, written here in one pass.
await rebuildRollups(clickhouse)
await clickhouse.writer.command({ query: `OPTIMIZE TABLE ${database}.cpi_rollup FINAL` })
const count = async (table: string) => {
  const result = await clickhouse.reader.query({
    query: `SELECT count() AS n FROM ${database}.${table}`,
    format: 'JSONEachRow',
  })
  return Number((await result.json<{ n: string }>())[0]?.n ?? 0)
}
process.stdout.write(
  `${JSON.stringify({ events: await count('events'), outcomes: await count('outcomes'), seconds: Math.round((performance.now() - started) / 1000) })}\n`,
)
await clickhouse.close()
process.exit(0)
