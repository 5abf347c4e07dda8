import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:net'
import path from 'node:path'
import { type ClickHouse, type ClickHouseSettings, createClickHouse, migrateToLatest } from '@cpi/clickhouse'
import { inject } from 'vitest'

/** What test/setup/global-setup.ts found or started, handed to every test file. */
export interface TestEnvironment {
  kafkaBrokers: string[]
  clickhouse:
    | { kind: 'http'; url: string; username: string; password: string }
    | { kind: 'embedded'; dataRoot: string }
}

declare module 'vitest' {
  export interface ProvidedContext {
    testEnvironment: TestEnvironment
  }
}

export function testEnvironment(): TestEnvironment {
  return inject('testEnvironment')
}

/** A name no other test file or run uses: `prefix_<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`
}

/**
 * Settings for a ClickHouse database of this test file's own. The embedded engine gets a data
 * directory per test process (one engine per process); child processes a test spawns are
 * handed the same settings to share it once the test has closed its own client.
 */
export function clickhouseSettingsFor(database: string): ClickHouseSettings {
  const { clickhouse } = testEnvironment()
  return clickhouse.kind === 'http'
    ? { ...clickhouse, database }
    : { kind: 'embedded', path: path.join(clickhouse.dataRoot, `process-${process.pid}`), database }
}

/** Opens (and migrates to the latest schema) a fresh database for this test file. */
export async function openMigratedClickHouse(settings: ClickHouseSettings): Promise<ClickHouse> {
  const clickhouse = createClickHouse(settings)
  await migrateToLatest(clickhouse)
  return clickhouse
}

/** A TCP port nothing listens on right now (for servers the test starts, or to point at nothing). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  if (typeof address !== 'object' || !address) throw new Error('no port')
  return address.port
}
