import { describe, expect, it } from 'vitest'
import { jsonErrorOffset } from './json-error-position.ts'
import { seededRandom } from './seeded-random.test-support.ts'

describe('jsonErrorOffset', () => {
  it('finds the offset where JSON breaks', () => {
    expect(jsonErrorOffset('{"a": 1,}')).toBe(8)
    expect(jsonErrorOffset('[1, 2')).toBe(5)
    expect(jsonErrorOffset('{"a" 1}')).toBe(5)
    expect(jsonErrorOffset('{"a": tru}')).toBe(9)
    expect(jsonErrorOffset('"bad \\q escape"')).toBe(6)
    expect(jsonErrorOffset('{} {}')).toBe(3)
    expect(jsonErrorOffset('-')).toBe(0)
  })

  it('agrees with JSON.parse on what is valid, for 20,000 random mutations of JSON text', () => {
    const random = seededRandom(42)
    const alphabet = '{}[]:,"\\ 0123456789-+.eEtrufalsn\n\tabc'
    const seeds = [
      '{"a": [1, 2.5e3, -0.1, true, false, null], "b": {"c": "d\\n\\u00e9"}}',
      '[{"x": {}}, [], "", 0]',
      '  "text"  ',
    ]
    for (let run = 0; run < 20_000; run++) {
      let text = seeds[run % seeds.length] as string
      const edits = 1 + Math.floor(random() * 3)
      for (let edit = 0; edit < edits; edit++) {
        const at = Math.floor(random() * (text.length + 1))
        const char = alphabet[Math.floor(random() * alphabet.length)] as string
        const kind = random()
        if (kind < 0.4) text = text.slice(0, at) + char + text.slice(at)
        else if (kind < 0.8) text = text.slice(0, at) + text.slice(at + 1)
        else text = text.slice(0, at) + char + text.slice(at + 1)
      }
      let valid = true
      try {
        JSON.parse(text)
      } catch {
        valid = false
      }
      const offset = jsonErrorOffset(text)
      if (valid !== (offset === undefined))
        throw new Error(`disagreement on ${JSON.stringify(text)}: ${offset}`)
      if (offset !== undefined) expect(offset).toBeLessThanOrEqual(text.length)
    }
  })

  it('copes with nesting far deeper than the call stack', () => {
    expect(jsonErrorOffset(`${'['.repeat(200_000)}${']'.repeat(200_000)}`)).toBeUndefined()
    expect(jsonErrorOffset(`${'['.repeat(200_000)}`)).toBe(200_000)
  })
})
