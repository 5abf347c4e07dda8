import {
  ClickHouseAdapterError,
  createClickHouse,
  insertEvents,
  loadEventCopies,
  migrateToLatest,
  startEngineHttpServer,
} from '@cpi/clickhouse'
import { describe, expect } from 'vitest'
import { clickhouseSettingsFor, testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'

// The development aid that lets separate processes share the embedded engine: the product's
// own adapter, in HTTP mode, against it — migrations, inserts, parameterized reads, errors.

describe('the embedded engine behind an HTTP interface (development aid)', () => {
  it('serves the adapter in HTTP mode: migrations, inserts, parameterized queries and typed errors', async () => {
    const settings = clickhouseSettingsFor(uniqueName('shim'))
    if (settings.kind !== 'embedded' || testEnvironment().clickhouse.kind !== 'embedded') return
    const engine = await startEngineHttpServer({ path: settings.path })
    const clickhouse = createClickHouse({
      kind: 'http',
      url: engine.url,
      username: 'default',
      password: '',
      database: settings.database,
    })
    try {
      expect(await clickhouse.ping()).toBe(true)
      expect(await clickhouse.version()).toMatch(/^\d+\.\d+/)
      const report = await migrateToLatest(clickhouse)
      expect(report.applied.length).toBeGreaterThanOrEqual(5)
      await insertEvents(clickhouse, [
        {
          id: 'e1',
          type: 'quote.requested',
          source: '/t',
          subject: 'Q-1',
          time: '2026-11-01T10:00:00.000Z',
          payload: JSON.stringify({ id: 'e1', experiment: 'x', variant: 'B', data: { customerId: 'c-1' } }),
          kafka_topic: 't',
          kafka_partition: 0,
          kafka_offset: 1,
        },
      ])
      const result = await clickhouse.reader.query({
        query: `SELECT id, experiment, variant, customer_id FROM ${settings.database}.events
                WHERE subject IN {subjects:Array(String)} AND time >= toDateTime64({from:Float64}, 3, 'UTC')`,
        query_params: { subjects: ['Q-1', "it's"], from: Date.parse('2026-11-01T00:00:00Z') / 1000 },
        format: 'JSONEachRow',
      })
      expect(await result.json()).toEqual([{ id: 'e1', experiment: 'x', variant: 'B', customer_id: 'c-1' }])
      // Strings with quotes, backslashes and tabs, alone and in arrays, arrive as they were sent.
      const awkward = ["it's", 'back\\slash', 'tab\there', 'new\nline', '[a,b]', '']
      // A set of subjects (one JSON parameter, src/string-set.ts) finds exactly its own.
      const odd = 'Q "2"\\\n\'s'
      await insertEvents(clickhouse, [
        {
          id: 'e2',
          type: 'quote.requested',
          source: '/t',
          subject: odd,
          time: '2026-11-01T10:00:01.000Z',
          payload: '{}',
          kafka_topic: 't',
          kafka_partition: 0,
          kafka_offset: 2,
        },
      ])
      const copies = await loadEventCopies(clickhouse, [...awkward, odd, 'Q-1'])
      expect(copies.map((copy) => [copy.id, copy.subject]).sort()).toEqual([
        ['e1', 'Q-1'],
        ['e2', odd],
      ])
      const echo = await clickhouse.reader.query({
        query: 'SELECT {one:String} AS one, {many:Array(String)} AS many, {n:Int64} AS n',
        query_params: { one: awkward.join('|'), many: awkward, n: -42 },
        format: 'JSONEachRow',
      })
      // (64-bit integers: quoted by a server, bare from the engine; the adapter reads both with Number.)
      const [row] = await echo.json<{ one: string; many: string[]; n: string | number }>()
      expect({ ...row, n: Number(row?.n) }).toEqual({ one: awkward.join('|'), many: awkward, n: -42 })
      const failure = await clickhouse.reader
        .query({ query: `SELECT nope FROM ${settings.database}.events`, format: 'JSONEachRow' })
        .then(() => undefined)
        .catch((error: unknown) => error)
      expect(failure).toMatchObject({ code: '47', type: 'UNKNOWN_IDENTIFIER' })
      await expect(
        clickhouse.writer.command({ query: `SELECT * FROM ${settings.database}.missing_table` }),
      ).rejects.toMatchObject({ code: '60' })
      expect(ClickHouseAdapterError).toBeDefined()
      expect(engine.requests()).toBeGreaterThan(5)
    } finally {
      await clickhouse.writer
        .command({ query: `DROP DATABASE IF EXISTS ${settings.database}` })
        .catch(() => undefined)
      await clickhouse.close()
      await engine.close()
    }
  })
})
