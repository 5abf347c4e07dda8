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
import { oneAtATime } from './one-at-a-time.ts'

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
   * The write path's second lane, opened on first use (one per set of clients): a connection of
   * its own and its TabSeparated insert. `onSecondLane` gives the database seen through it.
   */
  secondLane(): WriteLane
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

/** A write connection: its client, and TabSeparated inserts through it. */
export interface WriteLane {
  readonly client: ClickHouseClient
  insertTabSeparated(table: string, columns: readonly string[], text: string): Promise<void>
}

/**
 * The same database through the write path's second lane: its `writer` and `insertTabSeparated`
 * go there, the rest is `clickhouse`'s. The processor runs a group's statements that do not wait
 * for each other on both lanes at once (decision 0021).
 */
export function onSecondLane(clickhouse: ClickHouse): ClickHouse {
  const lane = clickhouse.secondLane()
  return {
    kind: clickhouse.kind,
    database: clickhouse.database,
    cluster: clickhouse.cluster,
    writer: lane.client,
    reader: clickhouse.reader,
    get background() {
      return clickhouse.background
    },
    secondLane: () => lane,
    insertTabSeparated: (table, columns, text) => lane.insertTabSeparated(table, columns, text),
    version: () => clickhouse.version(),
    ping: () => clickhouse.ping(),
    close: () => clickhouse.close(),
  }
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

/**
 * Opens clients on the settings' engine or server, and inserts TabSeparated text through any
 * client it opened as a writer (raw bytes to the embedded engine, a byte stream to a server).
 */
function connections(settings: ClickHouseSettings) {
  // The embedded connection of each writing client, for inserts of raw bytes (`chdb.rawInsert`).
  const embeddedOf = new Map<ClickHouseClient, EmbeddedConnection>()
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
    // Queued one at a time in Node: the engine would hold a worker thread per queued operation.
    const connection = oneAtATime(loadChdbConnection()({ path: settings.path }))
    const client = createClient({
      ...clientOptions,
      // Parameters are written into the query text (src/inline-parameters.ts): a read of 5,000
      // subjects is larger than the parser's default limit of 256 KiB.
      clickhouse_settings: { ...clientOptions.clickhouse_settings, max_query_size: String(64 * 1024 * 1024) },
      connection: withInlineParameters(connection) as unknown as ClientConnection,
    })
    if (role === 'writer') embeddedOf.set(client, connection as unknown as EmbeddedConnection)
    return client
  }

  /** TabSeparated text into a table through `client`: raw bytes to the embedded engine, or a stream. */
  const insertTabSeparated = async (
    client: ClickHouseClient,
    table: string,
    columns: readonly string[],
    text: string,
  ): Promise<void> => {
    if (text.length === 0) return
    const embedded = embeddedOf.get(client)
    if (embedded) {
      await embedded.chdb
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
    await client.insert({
      table,
      columns: columns as [string, ...string[]],
      // The client takes raw formats as a byte stream (not object mode).
      values: Readable.from([Buffer.from(text)], { objectMode: false }),
      format: 'TabSeparated',
    })
  }

  return { makeClient, insertTabSeparated }
}

/** The one factory: an HTTP client when a URL is configured, the embedded engine otherwise. */
export function createClickHouse(settings: ClickHouseSettings): ClickHouse {
  const { makeClient, insertTabSeparated } = connections(settings)
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
  let lane: WriteLane | undefined
  let closed = false
  const opened = (): void => {
    // Opened after close(), it would start the engine again with its default caches.
    if (closed) throw new Error('the ClickHouse clients are closed')
  }
  return {
    kind: settings.kind,
    database: settings.database,
    cluster: settings.kind === 'http' ? settings.cluster : undefined,
    writer,
    reader,
    get background() {
      opened()
      background ??= makeClient()
      return background
    },
    secondLane() {
      opened()
      if (!lane) {
        const client = makeClient('writer')
        lane = {
          client,
          insertTabSeparated: (table, columns, text) => insertTabSeparated(client, table, columns, text),
        }
      }
      return lane
    },
    insertTabSeparated: (table, columns, text) => insertTabSeparated(writer, table, columns, text),
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
      await Promise.allSettled([writer.close(), reader.close(), background?.close(), lane?.client.close()])
      engine?.close()
    },
  }
}
