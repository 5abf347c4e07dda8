import { describe, expect, it } from 'vitest'
import { setParts, stringSet, stringSetParameter } from './string-set.ts'

describe('string sets in queries', () => {
  it('name one String parameter holding a JSON array, whatever the strings hold', () => {
    expect(stringSet('subjects')).toBe("(SELECT arrayJoin(JSONExtract({subjects:String}, 'Array(String)')))")
    const nasty = ["o'brien", 'back\\slash', 'line\nbreak', 'quote"d', 'tab\there', '\u0000nul', 'ünï']
    expect(JSON.parse(stringSetParameter(nasty))).toEqual(nasty)
  })

  it('are read whole from the embedded engine and 5,000 at a time from a server', () => {
    const values = Array.from({ length: 12_001 }, (_, index) => `s${index}`)
    expect(setParts({ kind: 'embedded' }, values)).toEqual([values])
    const parts = setParts({ kind: 'http' }, values)
    expect(parts.map((part) => part.length)).toEqual([5000, 5000, 2001])
    expect(parts.flat()).toEqual(values)
    expect(setParts({ kind: 'http' }, [])).toEqual([])
    expect(setParts({ kind: 'embedded' }, [])).toEqual([])
  })
})
