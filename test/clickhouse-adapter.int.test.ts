import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  ClickHouseAdapterError,
  createClickHouse,
  loadMigrations,
  migrate,
  migrateToLatest,
} from '@cpi/clickhouse'
import { clickhouseMigrationsDir } from '@cpi/schemas'
import { describe, expect } from 'vitest'
import { it } from './support/fixtures.ts'

describe('ClickHouse adapter against the real engine', () => {
  it('reports the engine version and answers ping on the query path', async ({ clickhouse }) => {
    expect(await clickhouse.version()).toMatch(/^\d+\.\d+/)
    expect(await clickhouse.ping()).toBe(true)
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
})
