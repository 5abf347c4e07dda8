import { describe, expect, it } from 'vitest'
import { inlineParameters, sqlString, withInlineParameters } from './inline-parameters.ts'

describe('query parameters written into the SQL text', () => {
  it('quotes strings with backslashes and quotes escaped, so a value cannot end its literal', () => {
    expect(sqlString("it's")).toBe("'it\\'s'")
    expect(sqlString('a\\b')).toBe("'a\\\\b'")
    // The classic break-out: the quote is escaped, the backslash before it too.
    expect(sqlString("x\\' OR 1=1 --")).toBe("'x\\\\\\' OR 1=1 --'")
    // A value never spans lines of the query text (a line comment ends at a line break).
    expect(sqlString('a\nb\r\0c')).toBe("'a\\nb\\r\\0c'")
  })

  it('leaves placeholders inside strings, quoted names and comments as text, as the binder does', () => {
    const sql = [
      'SELECT \'label {s:String}\' AS a, "col {s:String}", `x {s:String}`, {s:String} -- rows of {s:String}',
      '/* {s:String} */ # {s:String}',
      "WHERE b = 'it''s {s:String}' AND c = 'esc\\' {s:String}'",
    ].join('\n')
    expect(inlineParameters(sql, { s: 'v' })).toBe(
      [
        "SELECT 'label {s:String}' AS a, \"col {s:String}\", `x {s:String}`, CAST('v', 'String') -- rows of {s:String}",
        '/* {s:String} */ # {s:String}',
        "WHERE b = 'it''s {s:String}' AND c = 'esc\\' {s:String}'",
      ].join('\n'),
    )
    // The injection a rewrite inside a comment would have allowed: the value stays in its literal.
    expect(
      inlineParameters("SELECT 1 -- by {c:String}\nWHERE {c:String} != ''", { c: 'a\n, version() --' }),
    ).toBe("SELECT 1 -- by {c:String}\nWHERE CAST('a\\n, version() --', 'String') != ''")
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
    // Out of the type's range, as the engine's binder refuses it (a CAST would wrap around).
    expect(() => inlineParameters('SELECT {n:UInt32}', { n: -1 })).toThrow('expected a UInt32, got "-1"')
    expect(() => inlineParameters('SELECT {n:UInt64}', { n: '-5' })).toThrow('expected a UInt64, got "-5"')
    expect(() => inlineParameters('SELECT {n:Int64}', { n: '9223372036854775808' })).toThrow(
      'expected a Int64, got "9223372036854775808"',
    )
    expect(() => inlineParameters('SELECT {a:Array(UInt32)}', { a: [1, -1] })).toThrow(
      'expected a UInt32, got "-1"',
    )
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
