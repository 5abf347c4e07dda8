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
  /**
   * The engine refused what was written, not the request: some row's content cannot be stored
   * (bad text, a value out of a type's range, a violated constraint). The same rows will fail
   * again; the rows that do not would pass alone.
   */
  readonly refusedContent: boolean

  constructor(message: string, options: { retriable: boolean; code?: string | undefined; cause?: unknown }) {
    super(message, { cause: options.cause })
    this.name = 'ClickHouseAdapterError'
    this.retriable = options.retriable
    this.code = options.code
    this.refusedContent = !options.retriable && options.code !== undefined && CONTENT_ERRORS.has(options.code)
  }
}

// ClickHouse error codes that name a value the engine would not take: retrying the same rows
// fails the same way, so a writer isolates the rows instead (by number, as above).
const CONTENT_ERRORS = new Map([
  ['6', 'CANNOT_PARSE_TEXT'],
  ['25', 'CANNOT_PARSE_ESCAPE_SEQUENCE'],
  ['26', 'CANNOT_PARSE_QUOTED_STRING'],
  ['27', 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'],
  ['38', 'CANNOT_PARSE_DATE'],
  ['41', 'CANNOT_PARSE_DATETIME'],
  ['53', 'TYPE_MISMATCH'],
  ['69', 'ARGUMENT_OUT_OF_BOUND'],
  ['70', 'CANNOT_CONVERT_TYPE'],
  ['72', 'CANNOT_PARSE_NUMBER'],
  ['117', 'INCORRECT_DATA'],
  ['131', 'TOO_LARGE_STRING_SIZE'],
  ['321', 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
  ['349', 'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN'],
  ['469', 'VIOLATED_CONSTRAINT'],
])

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
