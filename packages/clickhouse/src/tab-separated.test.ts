import { describe, expect, it } from 'vitest'
import { tsvRows, tsvString, tsvStringMap, tsvValue } from './tab-separated.ts'

describe('TabSeparated text', () => {
  it('escapes what would end a field or a row, and quotes', () => {
    expect(tsvString("a\tb\nc\\d\re\0f'g")).toBe("a\\tb\\nc\\\\d\\re\\0f\\'g")
    expect(tsvString('héllo ✓')).toBe('héllo ✓')
  })

  it('writes null as \\N and numbers as they are', () => {
    expect(tsvValue(null)).toBe('\\N')
    expect(tsvValue(undefined)).toBe('\\N')
    expect(tsvValue(42)).toBe('42')
    expect(tsvValue(12345678901234567890n)).toBe('12345678901234567890')
    expect(tsvValue('\\N')).toBe('\\\\N')
  })

  it('writes a map with its keys and values quoted', () => {
    expect(tsvStringMap({})).toBe('{}')
    expect(tsvStringMap({ region: 'north', name: "O'Brien\t" })).toBe(
      "{'region':'north','name':'O\\'Brien\\t'}",
    )
  })

  it('writes one line per row, fields separated by tabs', () => {
    const rows = [
      { a: 'x', b: 1 },
      { a: 'y\tz', b: 2 },
    ]
    expect(tsvRows(rows, [(row) => tsvString(row.a), (row) => tsvValue(row.b)])).toBe('x\t1\ny\\tz\t2\n')
  })
})
