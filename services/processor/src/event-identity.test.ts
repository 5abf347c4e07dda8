import type { StoredEvent } from '@cpi/clickhouse'
import { describe, expect, it } from 'vitest'
import { canonicalJson, classifyArrivals, firstCopies } from './event-identity.ts'

const stored = (id: string, source: string, offset: number, payload = `{"id":"${id}"}`): StoredEvent => ({
  id,
  source,
  subject: 'S',
  type: 'quote.issued',
  time: 0,
  payload,
  tooLate: false,
  partition: 0,
  offset: BigInt(offset),
})
const arriving = (id: string, source: string, offset: number, payload = `{"id":"${id}"}`, subject = 'S') => ({
  subject,
  id,
  source,
  partition: 0,
  offset: BigInt(offset),
  payload,
})

describe('event identity', () => {
  it('keeps the first accepted copy of each (source, id), whatever order the table returns them in', () => {
    const copies = [
      stored('a', 'x', 9, '{"late":1}'),
      stored('a', 'x', 3, '{"first":1}'),
      stored('a', 'y', 5),
    ]
    expect(firstCopies(copies).map((copy) => [copy.source, copy.id, copy.offset])).toEqual([
      ['x', 'a', 3n],
      ['y', 'a', 5n],
    ])
  })

  it('tells new events, replays, duplicates and conflicts apart, in arrival order', () => {
    const table = [stored('a', 'x', 1, '{"id":"a","data":{"n":1,"m":2}}')]
    expect(
      classifyArrivals(table, [
        arriving('a', 'x', 1, '{"id":"a","data":{"n":1,"m":2}}'), // the stored copy itself, replayed
        arriving('a', 'x', 4, '{"data":{"m":2,"n":1},"id":"a"}'), // same content, keys reordered
        arriving('a', 'x', 5, '{"id":"a","data":{"n":2,"m":2}}'), // other content
        arriving('a', 'y', 6), // another source: another event
        arriving('a', 'y', 7), // ... and its duplicate within the same batch
        arriving('b', 'y', 8, '{"id":"b"}'),
        arriving('b', 'y', 9, '{"id":"b","x":1}'), // conflicts with the copy that came one message earlier
      ]),
    ).toEqual([
      { kind: 'replay' },
      { kind: 'duplicate', first: { partition: 0, offset: 1n } },
      { kind: 'conflict', first: { partition: 0, offset: 1n } },
      { kind: 'new' },
      { kind: 'duplicate', first: { partition: 0, offset: 6n } },
      { kind: 'new' },
      { kind: 'conflict', first: { partition: 0, offset: 8n } },
    ])
  })

  it("compares a copy with its own interaction's copies only, whatever else shares the batch", () => {
    // Another interaction's event with the same (source, id): not this one's business.
    const other = { ...stored('a', 'x', 10, '{"other":1}'), subject: 'T' }
    expect(classifyArrivals([other], [arriving('a', 'x', 20)])).toEqual([{ kind: 'new' }])
    expect(classifyArrivals([], [arriving('a', 'x', 1, '{"t":1}', 'T'), arriving('a', 'x', 2)])).toEqual([
      { kind: 'new' },
      { kind: 'new' },
    ])
  })

  it('decides a replayed batch as the first run did (the duplicate was never stored)', () => {
    const batch = [arriving('a', 'x', 1), arriving('a', 'x', 2)]
    expect(classifyArrivals([], batch).map((arrival) => arrival.kind)).toEqual(['new', 'duplicate'])
    expect(classifyArrivals([stored('a', 'x', 1)], batch).map((arrival) => arrival.kind)).toEqual([
      'replay',
      'duplicate',
    ])
  })

  it('compares content with object keys in any order, arrays in order', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x' })).toBe('{"a":"x","b":[2,{"c":null,"d":1}]}')
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]))
  })
})
