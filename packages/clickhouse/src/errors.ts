import { ClickHouseError } from '@clickhouse/client'

/**
 * The one error class the ClickHouse adapter throws. Callers decide on `retriable`, never on
 * message text: a retriable error is worth the same request again after a pause (network,
 * overload, timeouts); a permanent one (bad SQL, bad data, missing table) is not.
 */
export class ClickHouseAdapterError extends Error {
  readonly retriable: boolean
  /** ClickHouse's numeric error code (`60`), or a system code (`ECONNREFUSED`), when known. */
  readonly code: string | undefined

  constructor(message: string, options: { retriable: boolean; code?: string | undefined; cause?: unknown }) {
    super(message, { cause: options.cause })
    this.name = 'ClickHouseAdapterError'
    this.retriable = options.retriable
    this.code = options.code
  }
}

// ClickHouse error codes that mean "try again later", not "your request is wrong". By
// number: the HTTP server sends the name too, the embedded engine only the number.
const RETRIABLE_SERVER_ERRORS = new Map([
  ['102', 'UNEXPECTED_PACKET_FROM_SERVER'],
  ['159', 'TIMEOUT_EXCEEDED'],
  ['202', 'TOO_MANY_SIMULTANEOUS_QUERIES'],
  ['209', 'SOCKET_TIMEOUT'],
  ['210', 'NETWORK_ERROR'],
  ['236', 'ABORTED'],
  ['241', 'MEMORY_LIMIT_EXCEEDED'],
  ['242', 'TABLE_IS_READ_ONLY'],
  ['252', 'TOO_MANY_PARTS'],
  ['279', 'ALL_CONNECTION_TRIES_FAILED'],
  ['394', 'QUERY_WAS_CANCELLED'],
  ['439', 'CANNOT_SCHEDULE_TASK'],
  ['999', 'KEEPER_EXCEPTION'],
])

const RETRIABLE_SYSTEM_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
])

/** Maps anything the client or the engine throws to a ClickHouseAdapterError. */
export function toClickHouseError(error: unknown, what: string): ClickHouseAdapterError {
  if (error instanceof ClickHouseAdapterError) return error
  if (error instanceof ClickHouseError) {
    return new ClickHouseAdapterError(`${what}: ${error.message}`, {
      retriable: RETRIABLE_SERVER_ERRORS.has(error.code),
      code: error.code,
      cause: error,
    })
  }
  const code = systemCode(error)
  const message = error instanceof Error ? error.message : String(error)
  const timedOut = error instanceof Error && /timeout/i.test(error.name)
  return new ClickHouseAdapterError(`${what}: ${message}`, {
    retriable: timedOut || (code !== undefined && RETRIABLE_SYSTEM_ERRORS.has(code)),
    ...(code === undefined ? {} : { code }),
    cause: error,
  })
}

function systemCode(error: unknown): string | undefined {
  let current: unknown = error
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code
    if (typeof code === 'string') return code
    current = current.cause
  }
  return undefined
}
