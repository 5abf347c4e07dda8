import { createRequire } from 'node:module'
import { type ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client'
import type { createChdbConnection as CreateChdbConnection } from 'chdb/connection'
import { toClickHouseError } from './errors.ts'

/**
 * The embedded engine (a 500 MB native library) is loaded only when a process uses it: services
 * that talk to a ClickHouse server over HTTP never load it.
 */
export const loadChdbConnection = (): typeof CreateChdbConnection =>
  (createRequire(import.meta.url)('chdb/connection') as { createChdbConnection: typeof CreateChdbConnection })
    .createChdbConnection

// chdb builds against its own copy of @clickhouse/client-common, whose types are structurally
// the same contract but nominally another package's: one cast at the seam.
type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection']

export type ClickHouseSettings =
  | { kind: 'embedded'; path: string; database: string }
  | {
      kind: 'http'
      url: string
      username: string
      password: string
      database: string
      /** Migrations run ON CLUSTER with replicated engines (src/cluster.ts). */
      cluster?: string
    }

/**
 * Two clients on one database. Each connection runs one operation at a time, so the write
 * path (inserts from consumers) and the query path (API, dashboards, checks) get their own:
 * a heavy query never stalls ingestion.
 */
export interface ClickHouse {
  readonly kind: ClickHouseSettings['kind']
  readonly database: string
  /** The cluster DDL targets, when configured (CLICKHOUSE_CLUSTER). */
  readonly cluster: string | undefined
  readonly writer: ClickHouseClient
  /**
   * A second write connection, opened on first use: the processor writes a batch's outcomes on
   * it while the batch's raw events go through `writer`, so the two inserts run side by side.
   */
  readonly sideWriter: ClickHouseClient
  readonly reader: ClickHouseClient
  /** `version()` of the engine or server. */
  version(): Promise<string>
  /** True when the query path answers `SELECT 1`. */
  ping(): Promise<boolean>
  close(): Promise<void>
}

const clientOptions = {
  // The adapter turns every failure into a ClickHouseAdapterError that its caller logs once;
  // the client's own console logging would print each a second time.
  log: { level: ClickHouseLogLevel.OFF },
  clickhouse_settings: {
    // Inserts are acknowledged only once written; consumers commit offsets after that.
    async_insert: 0,
    date_time_input_format: 'best_effort',
  },
} as const

/** The one factory: an HTTP client when a URL is configured, the embedded engine otherwise. */
export function createClickHouse(settings: ClickHouseSettings): ClickHouse {
  const makeClient = (): ClickHouseClient =>
    settings.kind === 'http'
      ? createClient({
          ...clientOptions,
          url: settings.url,
          username: settings.username,
          password: settings.password,
          request_timeout: 60_000,
        })
      : createClient({
          ...clientOptions,
          connection: loadChdbConnection()({ path: settings.path }) as unknown as ClientConnection,
        })

  const writer = makeClient()
  const reader = makeClient()
  let side: ClickHouseClient | undefined

  return {
    kind: settings.kind,
    database: settings.database,
    cluster: settings.kind === 'http' ? settings.cluster : undefined,
    writer,
    get sideWriter() {
      side ??= makeClient()
      return side
    },
    reader,
    async version() {
      try {
        const result = await reader.query({ query: 'SELECT version() AS version', format: 'JSONEachRow' })
        const rows = await result.json<{ version: string }>()
        return rows[0]?.version ?? 'unknown'
      } catch (error) {
        throw toClickHouseError(error, 'reading the ClickHouse version')
      }
    },
    async ping() {
      try {
        const result = await reader.ping()
        return result.success
      } catch {
        return false
      }
    },
    async close() {
      await Promise.allSettled([writer.close(), reader.close(), side?.close()])
    },
  }
}
