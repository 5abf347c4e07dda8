import { describe, expect, it } from 'vitest'
import { decodeBody } from './decode-body.ts'

const body = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))

describe('decodeBody', () => {
  it('reads one structured event', () => {
    expect(decodeBody('application/cloudevents+json; charset=utf-8', {}, body({ id: 'a' }))).toEqual({
      kind: 'items',
      mode: 'structured',
      items: [{ index: 0, raw: '{"id":"a"}', value: { id: 'a' } }],
    })
  })

  it('reads a batch and refuses a batch that is not an array', () => {
    const decoded = decodeBody('application/cloudevents-batch+json', {}, body([{ id: 'a' }, 7]))
    expect(decoded).toMatchObject({
      kind: 'items',
      mode: 'batch',
      items: [{ index: 0 }, { index: 1, value: 7, raw: '7' }],
    })
    expect(decodeBody('application/cloudevents-batch+json', {}, body({ id: 'a' }))).toMatchObject({
      kind: 'malformed',
      message: 'expected a JSON array of events, got another JSON value',
    })
  })

  it('refuses a malformed body with the position, keeping the raw text', () => {
    const decoded = decodeBody('application/cloudevents+json', {}, body('{"id": "a",}'))
    expect(decoded).toEqual({
      kind: 'malformed',
      message: 'expected valid JSON, got "}" at line 1, column 12 (offset 11)',
      raw: '{"id": "a",}',
    })
  })

  it('reads NDJSON line by line: blank lines skipped, a bad line is one bad item', () => {
    const decoded = decodeBody('application/x-ndjson', {}, body('{"id":"a"}\r\n\n{"id":\n{"id":"c"}\n'))
    expect(decoded).toMatchObject({
      kind: 'items',
      mode: 'ndjson',
      items: [
        { index: 0, value: { id: 'a' } },
        { index: 1, raw: '{"id":', parseError: expect.stringMatching(/^line 3: expected valid JSON/) },
        { index: 2, value: { id: 'c' } },
      ],
    })
  })

  it('builds an event from ce-* headers and the data body in binary mode, percent-decoding values', () => {
    const decoded = decodeBody(
      'application/json',
      { 'ce-specversion': '1.0', 'ce-id': 'x%201', 'ce-type': 'call.answered', 'content-length': '2' },
      body('{}'),
    )
    expect(decoded).toMatchObject({
      kind: 'items',
      mode: 'binary',
      items: [{ value: { specversion: '1.0', id: 'x 1', type: 'call.answered', data: {} } }],
    })
  })

  it('refuses other media types, and plain JSON without ce-* headers, naming what it accepts', () => {
    expect(decodeBody('text/plain', {}, body('x'))).toMatchObject({
      kind: 'unsupported',
      message: expect.stringMatching(/^expected one of application\/cloudevents\+json.*got text\/plain$/),
    })
    expect(decodeBody('application/json', {}, body({}))).toMatchObject({ kind: 'unsupported' })
    expect(decodeBody(undefined, {}, body({}))).toMatchObject({
      message: expect.stringMatching(/got no Content-Type$/),
    })
  })

  it('takes deeply nested bodies apart without recursion: a too-deep event is an item of its own, nothing throws', () => {
    const nested = `${'['.repeat(100_000)}${']'.repeat(100_000)}`
    const deepEvent = `{"id":"d","data":${nested}}`
    const tooDeep = {
      path: expect.stringMatching(/^data(\[0\])+$/),
      message: 'expected nesting of at most 12 levels, got more',
    }
    const options = { maxDepth: 12 }
    expect(decodeBody('application/cloudevents+json', {}, body(deepEvent), options)).toMatchObject({
      items: [{ index: 0, raw: deepEvent, tooDeep }],
    })
    const batch = decodeBody(
      'application/cloudevents-batch+json',
      {},
      body(`[{"id":"a"}, ${deepEvent} ,7]`),
      options,
    )
    expect(batch).toMatchObject({
      mode: 'batch',
      items: [
        { index: 0, value: { id: 'a' } },
        { index: 1, raw: deepEvent, tooDeep },
        { index: 2, value: 7 },
      ],
    })
    expect(decodeBody('application/x-ndjson', {}, body(`{"id":"a"}\n${deepEvent}\n`), options)).toMatchObject(
      {
        items: [
          { index: 0, value: { id: 'a' } },
          { index: 1, raw: deepEvent, tooDeep },
        ],
      },
    )
    const binary = decodeBody(
      'application/json',
      { 'ce-specversion': '1.0', 'ce-id': 'b' },
      body(nested),
      options,
    )
    expect(binary).toMatchObject({
      mode: 'binary',
      items: [{ index: 0, raw: `{"specversion":"1.0","id":"b","data":${nested}}`, tooDeep }],
    })
    // Within the limit, nothing changes.
    expect(decodeBody('application/cloudevents+json', {}, body('{"data":[[1]]}'), options)).toEqual({
      kind: 'items',
      mode: 'structured',
      items: [{ index: 0, raw: '{"data":[[1]]}', value: { data: [[1]] } }],
    })
  })
})
