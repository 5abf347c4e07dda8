import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { clickhouseMigrationsDir } from '@cpi/schemas'
import { z } from 'zod'
import type { ClickHouse } from './client.ts'
import { forCluster } from './cluster.ts'
import { ClickHouseAdapterError, toClickHouseError } from './errors.ts'
import { defineCommand, defineInsert, defineQuery } from './query.ts'

export interface Migration {
  version: number
  name: string
  /** Statements with `${database}` already replaced. */
  statements: string[]
  checksum: string
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Splits a migration file into statements: `;` at the end of a line ends one; `--` comment
 * lines are dropped. Migrations are our own files, so this need not be a full SQL lexer, but
 * a `;` inside a string literal at a line end would break it: don't write one.
 */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
  return withoutComments
    .split(/;[ \t]*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0)
}

/** Parses one migration file's name and text; `${database}` becomes the target database. */
export function parseMigration(fileName: string, text: string, database: string): Migration {
  const match = FILE_NAME.exec(fileName)
  if (!match?.[1] || !match[2]) {
    throw new ClickHouseAdapterError(
      `migration file ${fileName}: expected a name like 0001_create_events.sql`,
      {
        retriable: false,
      },
    )
  }
  if (!IDENTIFIER.test(database)) {
    throw new ClickHouseAdapterError(`database name ${JSON.stringify(database)} is not an identifier`, {
      retriable: false,
    })
  }
  const statements = splitStatements(text).map((statement) =>
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder migration files use
    statement.replaceAll('${database}', database),
  )
  return {
    version: Number(match[1]),
    name: match[2],
    statements,
    // The checksum covers the file as written, so it is the same for every database.
    checksum: createHash('sha256').update(text).digest('hex').slice(0, 16),
  }
}

/** Reads every `NNNN_name.sql` in a folder, in version order; refuses two files with one version. */
export async function loadMigrations(directory: string, database: string): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith('.sql')).sort()
  const migrations = await Promise.all(
    files.map(async (file) =>
      parseMigration(file, await readFile(path.join(directory, file), 'utf8'), database),
    ),
  )
  const seen = new Set<number>()
  for (const migration of migrations) {
    if (seen.has(migration.version)) {
      throw new ClickHouseAdapterError(`two migrations share version ${migration.version}`, {
        retriable: false,
      })
    }
    seen.add(migration.version)
  }
  return migrations
}

export interface MigrationReport {
  applied: string[]
  alreadyApplied: number
}

const ddlCommand = defineCommand({
  name: 'running a schema statement',
  params: z.object({ statement: z.string(), cluster: z.string().optional(), what: z.string() }),
  // A statement of our own files (or this module), sent as written: no parameters.
  sql: (_, { statement, cluster }) => (cluster ? forCluster(statement, cluster) : statement),
  bind: () => ({}),
  what: ({ what }) => what,
})

const recordedQuery = defineQuery({
  name: 'reading schema_migrations',
  connection: 'writer',
  params: z.object({}),
  sql: (database) =>
    `SELECT version, name, checksum FROM ${database}.schema_migrations FINAL ORDER BY version`,
  row: z.object({ version: z.coerce.number(), name: z.string(), checksum: z.string() }),
})

/** A migration as `schema_migrations` lists it: `0001_create_events`. */
const labelOf = (migration: { version: number; name: string }) =>
  `${String(migration.version).padStart(4, '0')}_${migration.name}`

const recordInsert = defineInsert({
  name: 'recording a migration',
  table: 'schema_migrations',
  values: (migration: Migration) => ({
    version: migration.version,
    name: migration.name,
    checksum: migration.checksum,
  }),
  what: ([migration]) => `recording migration ${migration ? labelOf(migration) : ''}`,
})

/**
 * Applies the migrations not yet recorded in `schema_migrations`, in order, and records each.
 * Safe to run at every start and from several processes: one applies at a time under a lock
 * (`acquireMigrationLock`), statements are written so that a run cut short can run again, and an
 * applied migration whose file changed is refused.
 */
export async function migrate(clickhouse: ClickHouse, migrations: Migration[]): Promise<MigrationReport> {
  const { database } = clickhouse
  const run = (statement: string, what: string) =>
    ddlCommand(clickhouse, { statement, cluster: clickhouse.cluster, what })
  await run(`CREATE DATABASE IF NOT EXISTS ${database}`, `creating database ${database}`)
  await run(
    `CREATE TABLE IF NOT EXISTS ${database}.schema_migrations (
       version UInt32, name String, checksum String,
       applied_at DateTime64(3, 'UTC') DEFAULT now64(3)
     ) ENGINE = ReplacingMergeTree ORDER BY version`,
    'creating schema_migrations',
  )
  const readRecorded = async () =>
    new Map((await recordedQuery(clickhouse, {})).map((row) => [row.version, row]))
  let byVersion = await readRecorded()
  const pending = migrations.some((migration) => !byVersion.has(migration.version))
  // One process applies migrations at a time (some, like 0008, rebuild a table and swap it in);
  // the others wait, then find them recorded.
  const release = pending ? await acquireMigrationLock(clickhouse) : undefined
  try {
    if (release) byVersion = await readRecorded()
    return await applyPending(migrations, byVersion, run, clickhouse)
  } finally {
    await release?.()
  }
}

const LOCK_STALE_MS = 120_000

/**
 * Takes the database's migration lock: a table only one CREATE can make. Its holder writes a
 * heartbeat every 5 s; a lock without one for 2 minutes is taken as left by a process that died
 * and is dropped. Returns the release.
 *
 * Not declared statements (src/query.ts): a failed CREATE here is the expected answer "another
 * process holds the lock" (code 57), retried every 500 ms, and the heartbeat, the stale lock's
 * read and the drops are best effort (their failures are ignored). Observed as statements, a wait
 * would count as a stream of failures.
 */
async function acquireMigrationLock(clickhouse: ClickHouse): Promise<() => Promise<void>> {
  const lock = `${clickhouse.database}.schema_migrations_lock`
  const beat = () =>
    clickhouse.writer.insert({
      table: lock,
      values: [{ holder: String(process.pid) }],
      format: 'JSONEachRow',
    })
  for (const started = Date.now(); Date.now() - started < 60 * 60_000; ) {
    try {
      await clickhouse.writer.command({
        query: `CREATE TABLE ${lock} (holder String, beat DateTime64(3, 'UTC') DEFAULT now64(3)) ENGINE = MergeTree ORDER BY tuple()`,
      })
      await beat()
      const heartbeat = setInterval(() => void beat().catch(() => undefined), 5000)
      heartbeat.unref()
      return async () => {
        clearInterval(heartbeat)
        await clickhouse.writer.command({ query: `DROP TABLE IF EXISTS ${lock}` }).catch(() => undefined)
      }
    } catch (error) {
      if (toClickHouseError(error, 'taking the migration lock').code !== '57')
        throw toClickHouseError(error, 'taking the migration lock')
    }
    const last = await clickhouse.writer
      .query({
        query: `SELECT toUnixTimestamp64Milli(max(beat)) AS at, count() AS n FROM ${lock}`,
        format: 'JSONEachRow',
      })
      .then((result) => result.json<{ at: string; n: string }>())
      .catch(() => [])
    const [row] = last
    if (row && Number(row.n) > 0 && Date.now() - Number(row.at) > LOCK_STALE_MS)
      await clickhouse.writer.command({ query: `DROP TABLE IF EXISTS ${lock}` }).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  throw new ClickHouseAdapterError(`waited an hour for the migration lock ${lock}`, { retriable: true })
}

async function applyPending(
  migrations: readonly Migration[],
  byVersion: ReadonlyMap<number, { version: number; name: string; checksum: string }>,
  run: (query: string, what: string) => Promise<void>,
  clickhouse: ClickHouse,
): Promise<MigrationReport> {
  const report: MigrationReport = { applied: [], alreadyApplied: 0 }
  for (const migration of migrations) {
    const label = labelOf(migration)
    const existing = byVersion.get(migration.version)
    if (existing) {
      if (existing.checksum !== migration.checksum) {
        throw new ClickHouseAdapterError(
          `migration ${label} was applied with checksum ${existing.checksum} but the file now has ${migration.checksum}: add a new migration instead of editing an applied one`,
          { retriable: false },
        )
      }
      report.alreadyApplied++
      continue
    }
    for (const [index, statement] of migration.statements.entries()) {
      await run(statement, `migration ${label}, statement ${index + 1}`)
    }
    await recordInsert(clickhouse, [migration])
    report.applied.push(label)
  }
  return report
}

/** Applies the project's own migrations (schemas/clickhouse/migrations) to the client's database. */
export async function migrateToLatest(clickhouse: ClickHouse): Promise<MigrationReport> {
  return migrate(clickhouse, await loadMigrations(clickhouseMigrationsDir, clickhouse.database))
}
