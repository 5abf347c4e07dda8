import { createRequire } from 'node:module'
import { Readable } from 'node:stream'
import {
  type ClickHouseClient,
  ClickHouseError,
  ClickHouseLogLevel,
  createClient,
  parseError,
} from '@clickhouse/client'
import type { createChdbConnection as CreateChdbConnection } from 'chdb/connection'
import { toClickHouseError } from './errors.ts'
import { withInlineParameters } from './inline-parameters.ts'

/**
 * The embedded engine (a 500 MB native library) is loaded only when a process uses it: services
 * that talk to a ClickHouse server over HTTP never load it.
 */
export const loadChdbConnection = (): typeof CreateChdbConnection => {
  // The engine's own allocator (jemalloc inside the library) reads this when the library
  // loads: freed pages go back to the system within a second instead of five.
  process.env.JE_MALLOC_CONF ??= 'dirty_decay_ms:1000,muzzy_decay_ms:0'
  return (
    createRequire(import.meta.url)('chdb/connection') as { createChdbConnection: typeof CreateChdbConnection }
  ).createChdbConnection
}

/**
 * The embedded engine's caches are sized for a server by default (5 GiB each for marks, index
 * marks and primary indexes). Inside a service process they are bounded: the first session on
 * a data directory starts the engine with these, and later connections share it.
 */
export const EMBEDDED_ENGINE_ARGS = [
  '--mark_cache_size=67108864',
  '--index_mark_cache_size=16777216',
  '--primary_index_cache_size=67108864',
  '--uncompressed_cache_size=0',
  '--query_condition_cache_size=16777216',
  '--compiled_expression_cache_size=16777216',
] as const

/**
 * Starts the embedded engine of a data directory with bounded caches, or joins it if this
 * process started it already (the arguments then change nothing). The session is held open
 * until the caller closes its clients, so the engine never restarts with its defaults.
 */
function startEmbeddedEngine(path: string): { close(): void } {
  loadChdbConnection()
  const { Session } = createRequire(import.meta.url)('chdb') as {
    Session: new (path: string, options: { connectionArgs: readonly string[] }) => { close(): void }
  }
  return new Session(path, { connectionArgs: EMBEDDED_ENGINE_ARGS })
}

/** What the embedded writer's connection offers beyond the client's contract. */
interface EmbeddedConnection {
  chdb: {
    rawInsert(params: {
      table: string
      columns: readonly string[]
      format: 'TabSeparated'
      values: Buffer
      settings: Record<string, string | number>
    }): Promise<unknown>
  }
}

/**
 * A raw insert's failure as the client's own error, with the engine's code (what the client's
 * operations throw): callers tell a refused row from an outage by that code.
 */
function asEngineError(error: unknown): unknown {
  if (!(error instanceof Error)) return error
  const parsed = parseError(error)
  if (parsed instanceof ClickHouseError) return parsed
  const code = (error as { clickhouseCode?: unknown }).clickhouseCode
  if (typeof code !== 'number') return error
  return new ClickHouseError({ message: error.message, code: String(code), type: 'UNKNOWN' })
}

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
  readonly reader: ClickHouseClient
  /**
   * A third connection, opened on first use, for upkeep that must neither wait behind the write
   * path nor hold it up (the processor's coarser rollup buckets and watermarks).
   */
  readonly background: ClickHouseClient
  /**
   * Inserts TabSeparated text (src/tab-separated.ts) into `table`'s `columns` through the write
   * path: handed to the embedded engine as bytes, or streamed to a server. Date-times may be
   * RFC 3339 (parsed best effort).
   */
  insertTabSeparated(table: string, columns: readonly string[], text: string): Promise<void>
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
  // The embedded writer's connection, for inserts of raw bytes (`chdb.rawInsert`).
  let embeddedWriter: EmbeddedConnection | undefined
  const makeClient = (role?: 'writer'): ClickHouseClient => {
    if (settings.kind === 'http') {
      return createClient({
        ...clientOptions,
        url: settings.url,
        username: settings.username,
        password: settings.password,
        request_timeout: 60_000,
      })
    }
    const connection = loadChdbConnection()({ path: settings.path })
    if (role === 'writer') embeddedWriter = connection as unknown as EmbeddedConnection
    return createClient({
      ...clientOptions,
      // Parameters are written into the query text (src/inline-parameters.ts): a read of 5,000
      // subjects is larger than the parser's default limit of 256 KiB.
      clickhouse_settings: { ...clientOptions.clickhouse_settings, max_query_size: String(64 * 1024 * 1024) },
      connection: withInlineParameters(connection) as unknown as ClientConnection,
    })
  }

  const engine = settings.kind === 'embedded' ? startEmbeddedEngine(settings.path) : undefined
  let writer: ClickHouseClient
  let reader: ClickHouseClient
  try {
    writer = makeClient('writer')
    reader = makeClient()
  } catch (error) {
    engine?.close()
    throw error
  }

  let background: ClickHouseClient | undefined
  let closed = false
  return {
    kind: settings.kind,
    database: settings.database,
    cluster: settings.kind === 'http' ? settings.cluster : undefined,
    writer,
    reader,
    get background() {
      // Opened after close(), it would start the engine again with its default caches.
      if (closed) throw new Error('the ClickHouse clients are closed')
      background ??= makeClient()
      return background
    },
    async insertTabSeparated(table, columns, text) {
      if (text.length === 0) return
      if (embeddedWriter) {
        await embeddedWriter.chdb
          .rawInsert({
            table,
            columns,
            format: 'TabSeparated',
            values: Buffer.from(text),
            settings: { date_time_input_format: 'best_effort', async_insert: 0 },
          })
          .catch((error: unknown) => {
            throw asEngineError(error)
          })
        return
      }
      await writer.insert({
        table,
        columns: columns as [string, ...string[]],
        // The client takes raw formats as a byte stream (not object mode).
        values: Readable.from([Buffer.from(text)], { objectMode: false }),
        format: 'TabSeparated',
      })
    },
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
      closed = true
      await Promise.allSettled([writer.close(), reader.close(), background?.close()])
      engine?.close()
    },
  }
}
