// Where JSON text first goes wrong. V8's JSON.parse names a position for some errors only
// ("Unexpected token '}', ... is not valid JSON" has none), and producers need one to fix
// their payload. An iterative scanner of the JSON grammar: no recursion, so deeply nested
// input cannot overflow the stack.

type Expect = 'value' | 'valueOrEnd' | 'key' | 'keyOrEnd' | 'colon' | 'commaOrEnd'

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const WHITESPACE = new Set([' ', '\t', '\n', '\r'])
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't'])

/** The offset of the first character that breaks JSON, or undefined when the text is valid JSON. */
export function jsonErrorOffset(text: string): number | undefined {
  const stack: ('{' | '[')[] = []
  let expect: Expect = 'value'
  let i = 0
  const n = text.length
  for (;;) {
    while (i < n && WHITESPACE.has(text[i] as string)) i++
    if (i >= n) return expect === 'commaOrEnd' && stack.length === 0 ? undefined : n
    if (expect === 'commaOrEnd' && stack.length === 0) return i // text after a complete value
    const c = text[i]
    switch (expect) {
      case 'value':
      case 'valueOrEnd': {
        if (expect === 'valueOrEnd' && c === ']') {
          stack.pop()
          i++
          expect = 'commaOrEnd'
        } else if (c === '{') {
          stack.push('{')
          i++
          expect = 'keyOrEnd'
        } else if (c === '[') {
          stack.push('[')
          i++
          expect = 'valueOrEnd'
        } else {
          const end = scanScalar(text, i)
          if (end < 0) return -end - 1
          i = end
          expect = 'commaOrEnd'
        }
        break
      }
      case 'key':
      case 'keyOrEnd': {
        if (expect === 'keyOrEnd' && c === '}') {
          stack.pop()
          i++
          expect = 'commaOrEnd'
        } else if (c === '"') {
          const end = scanString(text, i)
          if (end < 0) return -end - 1
          i = end
          expect = 'colon'
        } else {
          return i
        }
        break
      }
      case 'colon':
        if (c !== ':') return i
        i++
        expect = 'value'
        break
      case 'commaOrEnd': {
        const top = stack.at(-1)
        if (c === ',') {
          i++
          expect = top === '{' ? 'key' : 'value'
        } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
          stack.pop()
          i++
        } else {
          return i
        }
        break
      }
    }
  }
}

/** End offset of the scalar at `start`, or -(error offset) - 1. */
function scanScalar(text: string, start: number): number {
  const c = text[start]
  if (c === '"') return scanString(text, start)
  for (const literal of ['true', 'false', 'null']) {
    if (c === literal[0]) {
      for (let k = 0; k < literal.length; k++) if (text[start + k] !== literal[k]) return -(start + k) - 1
      return start + literal.length
    }
  }
  NUMBER.lastIndex = start
  const match = NUMBER.exec(text)
  if (!match || match[0].length === 0 || match[0] === '-') return -start - 1
  return start + match[0].length
}

function scanString(text: string, start: number): number {
  let i = start + 1
  while (i < text.length) {
    const c = text[i] as string
    if (c === '"') return i + 1
    if (c === '\\') {
      const next = text[i + 1]
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return -(i + 1) - 1
        i += 6
        continue
      }
      if (next === undefined || !ESCAPES.has(next)) return -(i + 1) - 1
      i += 2
      continue
    }
    if (c < ' ') return -i - 1 // a raw control character inside a string
    i++
  }
  return -text.length - 1
}
