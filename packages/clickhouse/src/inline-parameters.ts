// Query parameters written into the SQL text, for the embedded engine. chDB runs every query
// that carries `{name:Type}` parameters through one process-wide chain (its binder's state is not
// isolated between connections), so with bound parameters no two queries of a process run at
// once, whatever the connections: the API's reads waited behind the processor's and each other's.
// Written into the text as typed literals, queries on different connections run side by side.
// Only the types the adapter's queries use are supported; any other fails loudly.

const PLACEHOLDER = /^\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/
const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/
/** Each integer type's range: a value outside it is refused, as the engine's binder refuses it. */
const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  UInt8: [0n, 2n ** 8n - 1n],
  UInt16: [0n, 2n ** 16n - 1n],
  UInt32: [0n, 2n ** 32n - 1n],
  UInt64: [0n, 2n ** 64n - 1n],
  Int8: [-(2n ** 7n), 2n ** 7n - 1n],
  Int16: [-(2n ** 15n), 2n ** 15n - 1n],
  Int32: [-(2n ** 31n), 2n ** 31n - 1n],
  Int64: [-(2n ** 63n), 2n ** 63n - 1n],
}
const FLOAT_TYPES = new Set(['Float32', 'Float64'])
const ESCAPES: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\0': '\\0' }

/**
 * A string as a ClickHouse SQL literal: quoted; backslashes and quotes escaped (what could end
 * the literal), line breaks and NUL too (so a value never spans lines of the query text).
 */
export function sqlString(value: string): string {
  return `'${value.replace(/[\\'\n\r\0]/g, (character) => ESCAPES[character] as string)}'`
}

function refuse(name: string, type: string, value: unknown): never {
  throw new Error(`query parameter ${name}: expected a ${type}, got ${JSON.stringify(String(value))}`)
}

function sqlNumber(name: string, type: string, value: unknown): string {
  const valid =
    typeof value === 'number'
      ? Number.isFinite(value)
      : typeof value === 'bigint' || typeof value === 'string'
  const text = typeof value === 'bigint' ? value.toString() : String(value)
  if (!valid || !NUMBER.test(text)) refuse(name, type, value)
  const range = INTEGER_RANGES[type]
  if (range === undefined) return text
  if (!/^-?\d+$/.test(text)) refuse(name, type, value)
  const integer = BigInt(text)
  if (integer < range[0] || integer > range[1]) refuse(name, type, value)
  return integer.toString()
}

function literal(name: string, type: string, value: unknown): string {
  if (type === 'String') {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') {
      throw new Error(`query parameter ${name}: expected a String, got ${typeof value}`)
    }
    return sqlString(String(value))
  }
  if (type in INTEGER_RANGES || FLOAT_TYPES.has(type)) return sqlNumber(name, type, value)
  const element = /^Array\((.+)\)$/.exec(type)?.[1]
  if (element !== undefined) {
    if (!Array.isArray(value))
      throw new Error(`query parameter ${name}: expected an ${type}, got ${typeof value}`)
    return `[${value.map((item) => literal(name, element, item)).join(',')}]`
  }
  throw new Error(`query parameter ${name}: type ${type} is not supported by the embedded engine's adapter`)
}

/**
 * Where the SQL text has a string, a quoted name or a comment, from each start to its end
 * (exclusive): placeholders there are text, not parameters, as for the engine's own binder.
 */
function skipQuoted(sql: string, at: number): number | undefined {
  const character = sql[at]
  if (character === "'" || character === '"' || character === '`') {
    let index = at + 1
    while (index < sql.length) {
      if (sql[index] === '\\') index += 2
      else if (sql[index] === character && sql[index + 1] === character) index += 2
      else if (sql[index] === character) return index + 1
      else index++
    }
    return sql.length
  }
  const two = sql.slice(at, at + 2)
  if (two === '--' || character === '#') {
    const end = sql.indexOf('\n', at)
    return end === -1 ? sql.length : end + 1
  }
  if (two === '/*') {
    const end = sql.indexOf('*/', at + 2)
    return end === -1 ? sql.length : end + 2
  }
  return undefined
}

/**
 * The SQL with each `{name:Type}` outside strings and comments replaced by `CAST(literal,
 * 'Type')` from `params` (the same type as the bound parameter would have). A placeholder
 * without a value fails as the engine's binder would.
 */
export function inlineParameters(sql: string, params: Readonly<Record<string, unknown>>): string {
  let out = ''
  let index = 0
  while (index < sql.length) {
    const skipped = skipQuoted(sql, index)
    if (skipped !== undefined) {
      out += sql.slice(index, skipped)
      index = skipped
      continue
    }
    const placeholder = sql[index] === '{' ? PLACEHOLDER.exec(sql.slice(index, index + 1000)) : null
    if (!placeholder) {
      out += sql[index]
      index++
      continue
    }
    const [whole, name = '', rawType = ''] = placeholder
    const type = rawType.trim()
    if (!(name in params)) throw new Error(`query parameter ${name} has no value`)
    out += `CAST(${literal(name, type, params[name])}, ${sqlString(type)})`
    index += whole.length
  }
  return out
}

type Operation = (params: { query: string; query_params?: Record<string, unknown> }) => Promise<unknown>

/**
 * The connection with its parameterized operations rewritten to plain SQL (see above); every
 * other member is the connection's own.
 */
export function withInlineParameters<Connection extends object>(connection: Connection): Connection {
  const rewrite =
    (operation: Operation): Operation =>
    (params) => {
      const values = params.query_params
      if (!values || Object.keys(values).length === 0) return operation(params)
      return operation({ ...params, query: inlineParameters(params.query, values), query_params: {} })
    }
  return new Proxy(connection, {
    get(target, property) {
      const member = Reflect.get(target, property, target) as unknown
      if (typeof member !== 'function') return member
      const bound = (member as (...args: unknown[]) => unknown).bind(target)
      return property === 'query' || property === 'command' || property === 'exec'
        ? rewrite(bound as Operation)
        : bound
    },
  })
}
