import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { createChdbConnection } from 'chdb/connection'
import { loadChdbConnection } from './client.ts'

// A DEVELOPMENT AID, not a ClickHouse server: one process owns the embedded engine's data
// directory (the engine allows one process per directory) and answers the part of ClickHouse's
// HTTP interface that @clickhouse/client uses — so services started as separate processes can
// share one database over CLICKHOUSE_URL on a machine without a ClickHouse server. No users,
// no TLS, no compression, no sessions, no progress headers; it listens on loopback by default.
// Production runs a real ClickHouse server or cluster (docs/deployment.md).

type Connection = ReturnType<typeof createChdbConnection>

/** Settings of the HTTP layer that the engine has no use for. */
const HTTP_ONLY = new Set([
  'query',
  'database',
  'query_id',
  'session_id',
  'session_timeout',
  'session_check',
  'user',
  'password',
  'compress',
  'decompress',
  'buffer_size',
  'wait_end_of_query',
  'enable_http_compression',
  'send_progress_in_http_headers',
  'http_headers_progress_interval_ms',
])

export interface EngineHttpServer {
  url: string
  server: Server
  /** Requests answered so far (for tests and the status line). */
  requests(): number
  close(): Promise<void>
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Scalar query parameters travel in ClickHouse's escaped text form (a backslash before \\, ',
 * tab, newline…); the server unescapes them before parsing by type, and so does this.
 */
const ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0' }
export const unescapeText = (value: string): string =>
  value.replace(/\\(.)/gs, (_match, character: string) => ESCAPES[character] ?? character)

/**
 * An array literal as ClickHouse writes it (`['a','it\\'s']`, `[1,2.5]`) as a JS array: the
 * engine's binder takes JS arrays the way the embedded client passes them, while a text form
 * would be escaped a second time. Nested arrays and tuples are not needed by the product.
 */
export function parseArrayLiteral(text: string): (string | number)[] | undefined {
  const values: (string | number)[] = []
  let position = text.indexOf('[')
  if (position < 0 || !text.trimEnd().endsWith(']')) return undefined
  position++
  const skipSpace = () => {
    while (position < text.length && /\s/.test(text[position] as string)) position++
  }
  skipSpace()
  if (text[position] === ']') return values
  for (;;) {
    skipSpace()
    if (text[position] === "'") {
      let value = ''
      position++
      while (position < text.length && text[position] !== "'") {
        if (text[position] === '\\') {
          position++
          value += ESCAPES[text[position] as string] ?? text[position]
        } else value += text[position]
        position++
      }
      position++
      values.push(value)
    } else {
      const match = /^[^,\]]+/.exec(text.slice(position))
      if (!match) return undefined
      const number = Number(match[0].trim())
      if (Number.isNaN(number)) return undefined
      values.push(number)
      position += match[0].length
    }
    skipSpace()
    if (text[position] === ',') {
      position++
      continue
    }
    return text[position] === ']' ? values : undefined
  }
}

const isInsert = (sql: string) => /^\s*INSERT\s/i.test(sql)

/** What one query request asks of the engine, read from its URL and body. */
export interface EngineRequest {
  /** The SQL of the URL's `query`, or null when the body holds the SQL. */
  fromUrl: string | null
  /** The request body: the SQL, or the values of the URL's query. */
  text: string
  queryId: string
  /** The arguments every engine call takes: the query id, and the parameters and settings given. */
  common: {
    query_id: string
    query_params?: Record<string, unknown>
    clickhouse_settings?: Record<string, string>
  }
}

/**
 * Reads a query request the way ClickHouse's HTTP interface takes it: `param_*` are query
 * parameters, the other URL parameters settings (those of the HTTP layer left out).
 */
export function engineRequest(url: URL, text: string): EngineRequest {
  const fromUrl = url.searchParams.get('query')
  const queryParams: Record<string, string> = {}
  const settings: Record<string, string> = {}
  for (const [name, value] of url.searchParams) {
    if (name.startsWith('param_')) queryParams[name.slice('param_'.length)] = value
    else if (!HTTP_ONLY.has(name)) settings[name] = value
  }
  // Array parameters become JS arrays (see parseArrayLiteral); the rest is unescaped text.
  const sqlText = fromUrl ?? text
  const arrays = new Set([...sqlText.matchAll(/\{(\w+):\s*Array\(/g)].map((match) => match[1]))
  const bound: Record<string, unknown> = {}
  for (const [name, raw] of Object.entries(queryParams))
    bound[name] = arrays.has(name) ? (parseArrayLiteral(raw) ?? raw) : unescapeText(raw)
  const queryId = url.searchParams.get('query_id') ?? crypto.randomUUID()
  const common = {
    query_id: queryId,
    ...(Object.keys(bound).length > 0 ? { query_params: bound } : {}),
    ...(Object.keys(settings).length > 0 ? { clickhouse_settings: settings } : {}),
  }
  return { fromUrl, text, queryId, common }
}

/** Which connection runs a request, with which of its methods and arguments. */
export interface EngineCall {
  on: 'writer' | 'reader'
  method: 'insert' | 'exec' | 'query'
  args: Record<string, unknown>
}

/**
 * The engine call of a request: an INSERT of the URL with the body as its values, other SQL of
 * the URL with the body as input, or the body's SQL alone. Inserts go to the writer, the rest to
 * a reader.
 */
export function engineCall({ fromUrl, text, common }: EngineRequest): EngineCall {
  // Parameters arrive as text, the way ClickHouse's HTTP interface takes them; the engine's
  // binder parses them by the placeholder's declared type.
  const sql = fromUrl ?? text
  if (fromUrl !== null && isInsert(fromUrl))
    return { on: 'writer', method: 'insert', args: { query: fromUrl, values: text, ...common } }
  if (fromUrl !== null && text.length > 0)
    return {
      on: isInsert(sql) ? 'writer' : 'reader',
      method: 'exec',
      args: { query: fromUrl, values: text, ...common },
    }
  if (isInsert(sql)) return { on: 'writer', method: 'exec', args: { query: sql, ...common } }
  return { on: 'reader', method: 'query', args: { query: sql, ...common } }
}

/** The engine's connections on one data directory: one for inserts, readers taken in turn for the rest. */
class EngineConnections {
  readonly writer: Connection
  readonly readers: Connection[]
  private next = 0

  constructor(path: string, readers: number) {
    const connect = loadChdbConnection()
    this.writer = connect({ path })
    this.readers = Array.from({ length: readers }, () => connect({ path }))
  }

  /** Runs a call on its connection (the next reader in turn for a reader's call). */
  run(call: EngineCall): Promise<{ stream?: NodeJS.ReadableStream; summary?: unknown }> {
    // biome-ignore lint/suspicious/noExplicitAny: chdb's Connection is typed by its own copy of client-common
    const connection: any =
      call.on === 'writer' ? this.writer : this.readers[this.next++ % this.readers.length]
    return connection[call.method](call.args)
  }

  async close(): Promise<void> {
    await this.writer.close()
    for (const reader of this.readers) await reader.close()
  }
}

/** Answers what needs no engine: `/ping` (and a bare GET of `/`) and unknown paths. False for a query. */
function answeredWithoutEngine(url: URL, request: IncomingMessage, response: ServerResponse): boolean {
  if (
    url.pathname === '/ping' ||
    (url.pathname === '/' && request.method === 'GET' && !url.searchParams.has('query'))
  ) {
    response.writeHead(200, { 'content-type': 'text/plain; charset=UTF-8' }).end('Ok.\n')
    return true
  }
  if (url.pathname !== '/') {
    response
      .writeHead(404, { 'content-type': 'text/plain' })
      .end(`Code: 0. DB::Exception: no handler for ${url.pathname}`)
    return true
  }
  return false
}

/** Answers 200 with the engine's result, its query id and summary in ClickHouse's headers. */
async function writeResult(
  response: ServerResponse,
  queryId: string,
  result: { stream?: NodeJS.ReadableStream; summary?: unknown },
): Promise<void> {
  response.writeHead(200, {
    'content-type': 'text/plain; charset=UTF-8',
    'x-clickhouse-query-id': queryId,
    'x-clickhouse-summary': JSON.stringify(result.summary ?? {}),
  })
  if (result.stream) {
    for await (const chunk of result.stream) response.write(chunk)
  }
  response.end()
}

/** The engine's error as the server writes it, so the client parses the same code and type. */
export function engineErrorText(error: unknown): { code: string; text: string } {
  const { message, code, type } = error as { message?: string; code?: string; type?: string }
  const number = code && /^\d+$/.test(code) ? code : '1001'
  return {
    code: number,
    text: `Code: ${number}. DB::Exception: ${message ?? String(error)} (${type ?? 'STD_EXCEPTION'})`,
  }
}

/**
 * Starts the server. Connections: one for inserts, `readers` for everything else (each runs
 * one operation at a time, as in the product's own adapter), all on the same data directory.
 */
export async function startEngineHttpServer(options: {
  path: string
  port?: number
  host?: string
  readers?: number
}): Promise<EngineHttpServer> {
  const engine = new EngineConnections(options.path, options.readers ?? 2)
  let answered = 0

  async function handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://engine')
    if (answeredWithoutEngine(url, request, response)) return
    const query = engineRequest(url, await body(request))
    try {
      const result = await engine.run(engineCall(query))
      answered++
      await writeResult(response, query.queryId, result)
    } catch (error) {
      answered++
      const { code, text } = engineErrorText(error)
      response
        .writeHead(500, { 'content-type': 'text/plain; charset=UTF-8', 'x-clickhouse-exception-code': code })
        .end(text)
    }
  }

  // Query parameters travel in the URL: the product reads up to 5,000 interaction ids at once
  // (~100 kB), past Node's 16 kB default; a ClickHouse server takes 1 MiB (http_max_uri_size).
  const server = createServer({ maxHeaderSize: 1024 * 1024 }, (request, response) => {
    handle(request, response).catch((error) => {
      if (!response.headersSent) response.writeHead(500).end(`Code: 1001. DB::Exception: ${String(error)}`)
      else response.destroy()
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve))
  const address = server.address() as AddressInfo
  return {
    url: `http://${address.address}:${address.port}`,
    server,
    requests: () => answered,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await engine.close()
    },
  }
}
