import { ClickHouseError } from '@clickhouse/client'
import { describe, expect, it } from 'vitest'
import { ClickHouseAdapterError, toClickHouseError } from './errors.ts'

const serverError = (type: string, code: string) =>
  new ClickHouseError({ message: `boom ${type}`, code, type })

describe('toClickHouseError', () => {
  it('marks overload and timeouts retriable and bad requests permanent', () => {
    expect(toClickHouseError(serverError('TOO_MANY_SIMULTANEOUS_QUERIES', '202'), 'q').retriable).toBe(true)
    expect(toClickHouseError(serverError('TIMEOUT_EXCEEDED', '159'), 'q').retriable).toBe(true)
    expect(toClickHouseError(serverError('SYNTAX_ERROR', '62'), 'q').retriable).toBe(false)
    expect(toClickHouseError(serverError('UNKNOWN_TABLE', '60'), 'q')).toMatchObject({
      retriable: false,
      code: '60',
      message: 'q: boom UNKNOWN_TABLE',
    })
  })

  it("tells a refused row's content from a refused request", () => {
    expect(toClickHouseError(serverError('CANNOT_PARSE_ESCAPE_SEQUENCE', '25'), 'i').refusedContent).toBe(
      true,
    )
    expect(toClickHouseError(serverError('VIOLATED_CONSTRAINT', '469'), 'i').refusedContent).toBe(true)
    expect(toClickHouseError(serverError('UNKNOWN_TABLE', '60'), 'i').refusedContent).toBe(false)
    expect(toClickHouseError(serverError('MEMORY_LIMIT_EXCEEDED', '241'), 'i').refusedContent).toBe(false)
  })

  it('decides on the numeric code, which the embedded engine sends without a name', () => {
    expect(
      toClickHouseError(new ClickHouseError({ message: 'm', code: '241', type: undefined }), 'q').retriable,
    ).toBe(true)
  })

  it('marks connection failures retriable, found through the cause chain', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const wrapped = new Error('request failed', { cause: refused })
    expect(toClickHouseError(wrapped, 'insert')).toMatchObject({ retriable: true, code: 'ECONNREFUSED' })
  })

  it('treats anything unknown as permanent and keeps the cause', () => {
    const cause = new TypeError('bad value')
    const error = toClickHouseError(cause, 'insert')
    expect(error).toBeInstanceOf(ClickHouseAdapterError)
    expect(error.retriable).toBe(false)
    expect(error.cause).toBe(cause)
  })
})
