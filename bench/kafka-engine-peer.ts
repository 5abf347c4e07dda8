// The peer of the pipeline benchmark, in a process of its own (the embedded engine is a process
// singleton): ClickHouse's own Kafka table engine with a materialized view, reading the topic
// PEER_TOPIC from PEER_BROKERS into the same raw `events` table (CLICKHOUSE_PATH or
// CLICKHOUSE_URL, and CLICKHOUSE_DATABASE). Parsing only: no
// validation, no dead letters, no outcomes. Prints one JSON line: PeerResult.
import { createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { databaseFromEnvironment } from './support.ts'

export type PeerResult =
  | { available: true; rowsPerSecond: number; rows: number; seconds: number }
  | { available: false; reason: string }

async function measure(): Promise<PeerResult> {
  const brokers = process.env.PEER_BROKERS as string
  const topic = process.env.PEER_TOPIC as string
  const engine = createClickHouse(databaseFromEnvironment('peer'))
  const db = engine.database
  try {
    await migrateToLatest(engine)
    await engine.writer.command({
      query: `CREATE TABLE ${db}.events_queue (raw String) ENGINE = Kafka
              SETTINGS kafka_broker_list = '${brokers}', kafka_topic_list = '${topic}',
                       kafka_group_name = 'peer-${Date.now()}', kafka_format = 'JSONAsString',
                       kafka_num_consumers = 1, kafka_max_block_size = 65536, kafka_skip_broken_messages = 1000000`,
    })
    const started = performance.now()
    await engine.writer.command({
      query: `CREATE MATERIALIZED VIEW ${db}.events_from_queue TO ${db}.events AS
              SELECT JSONExtractString(raw, 'id') AS id, JSONExtractString(raw, 'type') AS type,
                     JSONExtractString(raw, 'source') AS source, JSONExtractString(raw, 'subject') AS subject,
                     parseDateTime64BestEffortOrZero(JSONExtractString(raw, 'time'), 3, 'UTC') AS time, raw AS payload,
                     _topic AS kafka_topic, _partition AS kafka_partition, _offset AS kafka_offset
              FROM ${db}.events_queue`,
    })
    // Done when the count stops growing for 3 s (the engine skips what it cannot parse).
    const deadline = started + 600_000
    let rows = 0
    let lastGrowth = started
    while (performance.now() < deadline) {
      const result = await engine.reader.query({
        query: `SELECT count() AS n FROM ${db}.events`,
        format: 'JSONEachRow',
      })
      const now = Number((await result.json<{ n: string }>())[0]?.n ?? 0)
      if (now > rows) {
        rows = now
        lastGrowth = performance.now()
      } else if (rows > 0 && performance.now() - lastGrowth > 3000) break
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await engine.writer.command({ query: `DROP TABLE ${db}.events_from_queue` })
    await engine.writer.command({ query: `DROP TABLE ${db}.events_queue` })
    if (rows === 0)
      return { available: false, reason: 'the Kafka table engine consumed nothing within 10 minutes' }
    const seconds = (lastGrowth - started) / 1000
    return {
      available: true,
      rowsPerSecond: Math.round(rows / seconds),
      rows,
      seconds: Number(seconds.toFixed(1)),
    }
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message.slice(0, 300) : String(error) }
  } finally {
    await engine.close()
  }
}

process.stdout.write(`${JSON.stringify(await measure())}\n`)
process.exit(0)
