import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  ClickHouseAdapterError,
  createClickHouse,
  defineCommand,
  defineInsert,
  defineQuery,
  insertEvents,
  insertOutcomes,
  loadEventCopies,
  loadMigrations,
  migrate,
  migrateToLatest,
  observeStatements,
  outcomePlacements,
  type StatementRun,
} from '@cpi/clickhouse'
import { clickhouseMigrationsDir } from '@cpi/schemas'
import { describe, expect } from 'vitest'
import { z } from 'zod'
import { it } from './support/fixtures.ts'

describe('ClickHouse adapter against the real engine', () => {
  it('reports the engine version and answers ping on the query path', async ({ clickhouse }) => {
    expect(await clickhouse.version()).toMatch(/^\d+\.\d+/)
    expect(await clickhouse.ping()).toBe(true)
  })

  it('never holds the write path behind reads queued on the query path (each connection one operation at a time)', async ({
    clickhouse,
  }) => {
    // Eight heavy reads at once on the query path, as a dashboard's tiles or eight API clients
    // send them; then an insert on the write path. The reads run one after another on their
    // connection; the insert must not wait for them (before the adapter queued each
    // connection's operations itself, it waited for most of them: decision 0022).
    const finished: string[] = []
    const reads = Array.from({ length: 8 }, (_, index) =>
      clickhouse.reader
        .query({
          query: 'SELECT sum(cityHash64(number)) AS s FROM numbers(300000000)',
          format: 'JSONEachRow',
        })
        .then((result) => result.json())
        .then(() => finished.push(`read ${index + 1}`)),
    )
    await new Promise((resolve) => setTimeout(resolve, 50))
    await insertEvents(clickhouse, [
      {
        id: 'beside-the-reads',
        type: 'quote.requested',
        source: '/test',
        subject: 'beside-the-reads',
        time: '2026-12-07T05:00:00.000Z',
        payload: '{}',
        kafka_topic: 'events',
        kafka_partition: 0,
        kafka_offset: '1',
      },
    ])
    finished.push('insert')
    await Promise.all(reads)
    // At most the read running when the insert came finished before it.
    expect(finished.indexOf('insert')).toBeLessThanOrEqual(1)
    expect(finished.filter((entry) => entry.startsWith('read'))).toEqual(
      Array.from({ length: 8 }, (_, index) => `read ${index + 1}`),
    )
  })

  it('applies migrations once and records them; a second run applies nothing', async ({ clickhouse }) => {
    const files = await loadMigrations(clickhouseMigrationsDir, clickhouse.database)
    const again = await migrateToLatest(clickhouse)
    expect(again).toEqual({ applied: [], alreadyApplied: files.length })
    const result = await clickhouse.reader.query({
      query: `SELECT version, name FROM ${clickhouse.database}.schema_migrations FINAL ORDER BY version`,
      format: 'JSONEachRow',
    })
    expect(await result.json()).toEqual(files.map((file) => ({ version: file.version, name: file.name })))
  })

  it('lets one process at a time apply migrations: four at once on a new database end with one schema', async ({
    clickhouseSettings,
  }) => {
    const settings = { ...clickhouseSettings, database: `${clickhouseSettings.database}_race` }
    const clients = Array.from({ length: 4 }, () => createClickHouse(settings))
    try {
      const reports = await Promise.all(clients.map((client) => migrateToLatest(client)))
      const files = await loadMigrations(clickhouseMigrationsDir, settings.database)
      // Each migration applied by exactly one of them; the others found it recorded.
      for (const file of files) {
        const label = `${String(file.version).padStart(4, '0')}_${file.name}`
        expect(
          reports.filter((report) => report.applied.includes(label)),
          label,
        ).toHaveLength(1)
      }
      const [client] = clients
      if (!client) throw new Error('no client')
      const columns = await (
        await client.reader.query({
          query: `SELECT name FROM system.columns WHERE database = {db:String} AND table = 'outcomes' AND name = 'is_deleted'`,
          query_params: { db: settings.database },
          format: 'JSONEachRow',
        })
      ).json()
      expect(columns).toEqual([{ name: 'is_deleted' }])
      const lock = await (
        await client.reader.query({
          query: `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'schema_migrations_lock'`,
          query_params: { db: settings.database },
          format: 'JSONEachRow',
        })
      ).json<{ n: string }>()
      expect(Number(lock[0]?.n)).toBe(0)
    } finally {
      await clients[0]?.writer.command({ query: `DROP DATABASE IF EXISTS ${settings.database}` })
      for (const client of clients) await client.close()
    }
  })

  it('refuses an applied migration whose file was edited afterwards', async ({ clickhouse }) => {
    const directory = await mkdtemp(path.join(tmpdir(), 'cpi-migrations-'))
    const file = path.join(directory, '0900_extra_table.sql')
    await writeFile(
      file,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder migration files use
      'CREATE TABLE IF NOT EXISTS ${database}.extra (x UInt8) ENGINE = MergeTree ORDER BY x;\n',
    )
    expect((await migrate(clickhouse, await loadMigrations(directory, clickhouse.database))).applied).toEqual(
      ['0900_extra_table'],
    )
    await writeFile(
      file,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder migration files use
      'CREATE TABLE IF NOT EXISTS ${database}.extra (x UInt16) ENGINE = MergeTree ORDER BY x;\n',
    )
    await expect(migrate(clickhouse, await loadMigrations(directory, clickhouse.database))).rejects.toThrow(
      /0900_extra_table was applied with checksum .* add a new migration/,
    )
  })

  it('stores and finds back any text: inserts as TabSeparated, parameters written into the query', async ({
    clickhouse,
  }) => {
    // Every character TabSeparated or a SQL literal escapes, an injection attempt, non-ASCII.
    const nasty = "it's\ta \\ back'slash\n\r\0 line' OR 1=1 -- ✓ 日本 \\N {s:String}"
    const payload = JSON.stringify({ data: { note: nasty } })
    await insertEvents(clickhouse, [
      {
        id: nasty,
        type: 'quote.requested',
        source: '/test',
        subject: nasty,
        time: '2026-12-07T05:00:00.123Z',
        payload,
        kafka_topic: 'events',
        kafka_partition: 2,
        kafka_offset: '18446744073709551615',
      },
    ])
    const [copy] = await loadEventCopies(clickhouse, [nasty, 'someone else'])
    expect(copy).toMatchObject({
      id: nasty,
      subject: nasty,
      payload,
      time: Date.parse('2026-12-07T05:00:00.123Z'),
    })
    await insertOutcomes(clickhouse, [
      {
        cpi: 'fast_quote',
        definition_version: 1,
        subject: nasty,
        cohort_at: '2026-12-07T05:00:00.123Z',
        state: 'good',
        status: 'final',
        latency_ms: null,
        open: 0,
        segments: { [nasty]: nasty, region: "north'" },
        revisit_at: null,
        watermark: '2026-12-07T05:01:00.000Z',
        kafka_partition: 2,
        version: 1,
      },
    ])
    const stored = await (
      await clickhouse.reader.query({
        query: `SELECT segments, latency_ms, revisit_at FROM ${clickhouse.database}.outcomes WHERE subject = {subject:String}`,
        query_params: { subject: nasty },
        format: 'JSONEachRow',
      })
    ).json()
    expect(stored).toEqual([
      { segments: { [nasty]: nasty, region: "north'" }, latency_ms: null, revisit_at: null },
    ])
    const places = await outcomePlacements(clickhouse, [nasty])
    expect(places.get(`fast_quote\u0000${nasty}`)).toEqual([
      {
        cohortAt: '2026-12-07T05:00:00.123Z',
        version: 1,
        deleted: false,
        // What the rollup counted of the row, any text in its segments kept as it was.
        counted: {
          state: 'good',
          status: 'final',
          latency_ms: null,
          open: 0,
          segments: { [nasty]: nasty, region: "north'" },
          kafka_partition: 2,
          cohortAt: Date.parse('2026-12-07T05:00:00.123Z'),
          definition_version: 1,
        },
      },
    ])
  })

  it('maps a bad query to a permanent typed error naming the engine error', async ({ clickhouse }) => {
    const { toClickHouseError } = await import('@cpi/clickhouse')
    const error = await clickhouse.reader
      .query({ query: `SELECT * FROM ${clickhouse.database}.no_such_table` })
      .then(() => undefined)
      .catch((caught: unknown) => toClickHouseError(caught, 'reading'))
    expect(error).toBeInstanceOf(ClickHouseAdapterError)
    expect(error).toMatchObject({ retriable: false, code: '60' }) // UNKNOWN_TABLE
  })

  it('maps an unreachable server to a retriable typed error', async () => {
    const unreachable = createClickHouse({
      kind: 'http',
      url: 'http://127.0.0.1:9',
      username: 'default',
      password: '',
      database: 'cpi',
    })
    try {
      await expect(unreachable.version()).rejects.toMatchObject({
        name: 'ClickHouseAdapterError',
        retriable: true,
      })
      expect(await unreachable.ping()).toBe(false)
    } finally {
      await unreachable.close()
    }
  })

  it('runs declared statements: parameters and rows checked, failures named, every run observed', async ({
    clickhouse,
  }) => {
    const runs: StatementRun[] = []
    const stop = observeStatements((run) => runs.push(run))
    try {
      const create = defineCommand({
        name: 'creating the notes table',
        params: z.object({}),
        sql: (database) =>
          `CREATE TABLE IF NOT EXISTS ${database}.notes (id UInt32, text String) ENGINE = MergeTree ORDER BY id`,
      })
      const insertNotes = defineInsert({
        name: 'writing notes',
        table: 'notes',
        values: (note: { id: number; text: string }) => note,
      })
      const notesAfter = defineQuery({
        name: 'reading notes',
        params: z.object({ after: z.number().int().nonnegative() }),
        sql: (database) => `SELECT id, text FROM ${database}.notes WHERE id > {after:UInt32} ORDER BY id`,
        row: z.object({ id: z.number(), text: z.string() }),
      })
      await create(clickhouse, {})
      await insertNotes(clickhouse, [
        { id: 1, text: 'a' },
        { id: 2, text: "it's \\ {x:String}" },
      ])
      await insertNotes(clickhouse, [])
      expect(await notesAfter(clickhouse, { after: 0 })).toEqual([
        { id: 1, text: 'a' },
        { id: 2, text: "it's \\ {x:String}" },
      ])

      // A bad parameter is named before anything is sent.
      await expect(notesAfter(clickhouse, { after: -1 } as never)).rejects.toThrow(
        /reading notes: invalid parameters \(after: /,
      )
      // A row that does not fit names the query and the field.
      const wrongRows = defineQuery({
        name: 'reading notes as numbers',
        params: z.object({}),
        sql: (database) => `SELECT id, text FROM ${database}.notes ORDER BY id`,
        row: z.object({ id: z.number(), text: z.number() }),
      })
      await expect(wrongRows(clickhouse, {})).rejects.toThrow(
        /reading notes as numbers: row 0 does not fit \(text: /,
      )
      // The engine's own failure comes out as the adapter's error, named by the statement.
      const missing = defineQuery({
        name: 'reading a table that is not there',
        params: z.object({}),
        sql: (database) => `SELECT 1 FROM ${database}.no_such_table`,
        row: z.object({}),
      })
      const failure = await missing(clickhouse, {}).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(ClickHouseAdapterError)
      expect((failure as ClickHouseAdapterError).message).toMatch(/^reading a table that is not there: /)
      expect((failure as ClickHouseAdapterError).retriable).toBe(false)

      expect(
        runs.map((run) => [run.name, run.kind, run.connection, run.rows, run.error !== undefined]),
      ).toEqual([
        ['creating the notes table', 'command', 'writer', 0, false],
        ['writing notes', 'insert', 'writer', 2, false],
        ['reading notes', 'query', 'reader', 2, false],
        ['reading notes as numbers', 'query', 'reader', 0, true],
        ['reading a table that is not there', 'query', 'reader', 0, true],
      ])
      for (const run of runs) expect(run.seconds).toBeGreaterThanOrEqual(0)
    } finally {
      stop()
    }
  })
})
