// Query parameters written into the SQL text, for the embedded engine. chDB runs every query
// that carries `{name:Type}` parameters through one process-wide chain (its binder's state is not
// isolated between connections), so with bound parameters no two queries of a process run at
// once, whatever the connections: the API's reads waited behind the processor's and each other's.
// Written into the text as typed literals, queries on different connections run side by side.
// Only the types the adapter's queries use are supported; any other fails loudly.

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}/g
const NUMBER = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/
const INTEGER_TYPES = new Set(['UInt8', 'UInt16', 'UInt32', 'UInt64', 'Int8', 'Int16', 'Int32', 'Int64'])
const NUMBER_TYPES = new Set([...INTEGER_TYPES, 'Float32', 'Float64'])

/** A string as a ClickHouse SQL literal: quoted, backslashes and quotes escaped. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function sqlNumber(name: string, type: string, value: unknown): string {
  const text = typeof value === 'bigint' ? value.toString() : String(value)
  const valid =
    typeof value === 'number'
      ? Number.isFinite(value)
      : typeof value === 'bigint' || typeof value === 'string'
  if (!valid || !NUMBER.test(text) || (INTEGER_TYPES.has(type) && !/^-?\d+$/.test(text))) {
    throw new Error(`query parameter ${name}: expected a ${type}, got ${JSON.stringify(String(value))}`)
  }
  return text
}

function literal(name: string, type: string, value: unknown): string {
  if (type === 'String') {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') {
      throw new Error(`query parameter ${name}: expected a String, got ${typeof value}`)
    }
    return sqlString(String(value))
  }
  if (NUMBER_TYPES.has(type)) return sqlNumber(name, type, value)
  const element = /^Array\((.+)\)$/.exec(type)?.[1]
  if (element !== undefined) {
    if (!Array.isArray(value))
      throw new Error(`query parameter ${name}: expected an ${type}, got ${typeof value}`)
    return `[${value.map((item) => literal(name, element, item)).join(',')}]`
  }
  throw new Error(`query parameter ${name}: type ${type} is not supported by the embedded engine's adapter`)
}

/**
 * The SQL with each `{name:Type}` replaced by `CAST(literal, 'Type')` from `params` (the same
 * type as the bound parameter would have). A placeholder without a value fails as the engine's
 * binder would.
 */
export function inlineParameters(sql: string, params: Readonly<Record<string, unknown>>): string {
  return sql.replace(PLACEHOLDER, (_match, name: string, rawType: string) => {
    const type = rawType.trim()
    if (!(name in params)) throw new Error(`query parameter ${name} has no value`)
    return `CAST(${literal(name, type, params[name])}, ${sqlString(type)})`
  })
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
