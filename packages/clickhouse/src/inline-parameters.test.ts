import { describe, expect, it } from 'vitest'
import { inlineParameters, sqlString, withInlineParameters } from './inline-parameters.ts'

describe('query parameters written into the SQL text', () => {
  it('quotes strings with backslashes and quotes escaped, so a value cannot end its literal', () => {
    expect(sqlString("it's")).toBe("'it\\'s'")
    expect(sqlString('a\\b')).toBe("'a\\\\b'")
    // The classic break-out: the quote is escaped, the backslash before it too.
    expect(sqlString("x\\' OR 1=1 --")).toBe("'x\\\\\\' OR 1=1 --'")
  })

  it('types each literal as its placeholder said', () => {
    expect(
      inlineParameters('SELECT {s:String}, {n:UInt32}, {f:Float64}, {a:Array(String)}, {b:Array(UInt32)}', {
        s: 'fast_quote',
        n: 7,
        f: -0.25,
        a: ['a', "b'c"],
        b: [1, 2],
      }),
    ).toBe(
      "SELECT CAST('fast_quote', 'String'), CAST(7, 'UInt32'), CAST(-0.25, 'Float64'), " +
        "CAST(['a','b\\'c'], 'Array(String)'), CAST([1,2], 'Array(UInt32)')",
    )
    expect(inlineParameters('SELECT {big:UInt64}', { big: 18446744073709551615n })).toBe(
      "SELECT CAST(18446744073709551615, 'UInt64')",
    )
    expect(inlineParameters('SELECT {e:Array(String)}', { e: [] })).toBe("SELECT CAST([], 'Array(String)')")
  })

  it('refuses a value that is not of its type, a missing value and an unsupported type, naming the parameter', () => {
    expect(() => inlineParameters('SELECT {n:UInt32}', { n: '1; DROP TABLE events' })).toThrow(
      'query parameter n: expected a UInt32, got "1; DROP TABLE events"',
    )
    expect(() => inlineParameters('SELECT {n:Int64}', { n: 1.5 })).toThrow('expected a Int64, got "1.5"')
    expect(() => inlineParameters('SELECT {f:Float64}', { f: Number.NaN })).toThrow('expected a Float64')
    expect(() => inlineParameters('SELECT {a:Array(String)}', { a: 'x' })).toThrow(
      'query parameter a: expected an Array(String), got string',
    )
    expect(() => inlineParameters('SELECT {s:String}', {})).toThrow('query parameter s has no value')
    expect(() => inlineParameters('SELECT {d:DateTime}', { d: '2026-12-07' })).toThrow(
      'query parameter d: type DateTime is not supported',
    )
  })

  it('rewrites parameterized queries of a connection and passes everything else through', async () => {
    const seen: unknown[] = []
    const connection = {
      name: 'chdb',
      query(params: unknown) {
        seen.push(params)
        return Promise.resolve('queried')
      },
      insert(params: unknown) {
        seen.push(params)
        return Promise.resolve('inserted')
      },
    }
    const wrapped = withInlineParameters(connection)
    expect(wrapped.name).toBe('chdb')
    await wrapped.query({ query: 'SELECT {s:String}', query_params: { s: 'x' } })
    await wrapped.query({ query: 'SELECT 1' })
    await wrapped.insert({ table: 't' })
    expect(seen).toEqual([
      { query: "SELECT CAST('x', 'String')", query_params: {} },
      { query: 'SELECT 1' },
      { table: 't' },
    ])
  })
})
