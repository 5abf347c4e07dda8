import { describe, expect, it } from 'vitest'
import {
  type Block,
  blockStarts,
  blocksFromRows,
  keyOf,
  keyOfBucket,
  type Row,
  windowRows,
} from './rollup-blocks.ts'

const T0 = Date.UTC(2026, 0, 5, 10, 0, 0) / 1000

const engineRow = (grain: number, at: number, value = '', extra: Record<string, unknown> = {}) => ({
  grain,
  at,
  value,
  good: '1',
  total: '2',
  pending: 0,
  provisional: 0,
  latency_count: 1,
  histogram_keys: [10],
  histogram_counts: ['1'],
  open_since: [],
  ...extra,
})

const row = (bucket: number, value = ''): Row => ({
  bucket,
  value,
  good: 1,
  total: 1,
  pending: 0,
  provisional: 0,
  latencyCount: 0,
  keys: [],
  counts: [],
  open: [],
})

describe('rollup blocks', () => {
  it('cover 64 buckets of their grain, aligned to the epoch', () => {
    const span = 60 * 64
    const first = T0 - (T0 % span)
    expect(blockStarts(60, T0 * 1000, (T0 + 60) * 1000)).toEqual([first])
    expect(blockStarts(60, T0 * 1000, (first + span + 1) * 1000)).toEqual([first, first + span])
    expect(blockStarts(60, first * 1000, first * 1000)).toEqual([])
    expect(keyOfBucket('c', 60, 'all', first + 125)).toBe(keyOf('c', 60, 'all', first))
    expect(keyOfBucket('c', 3600, 'all', first + 125)).toBe(keyOf('c', 3600, 'all', T0 - (T0 % (3600 * 64))))
  })

  it("are filled with the engine's rows, empty when it has none, rows of other blocks left out", () => {
    const start = T0 - (T0 % 3840)
    const blocks = blocksFromRows(
      'c',
      'region',
      [
        { grain: 60, start },
        { grain: 60, start: start + 3840 },
      ],
      [
        engineRow(60, start + 60, 'north', { open_since: [[1, '1234']] }),
        engineRow(300, start, 'north'),
        engineRow(60, start - 60, 'south'),
      ],
    )
    expect([...blocks.keys()]).toEqual([
      keyOf('c', 60, 'region', start),
      keyOf('c', 60, 'region', start + 3840),
    ])
    const [held, empty] = [...blocks.values()] as [Block, Block]
    expect(held.rows).toEqual([
      {
        bucket: start + 60,
        value: 'north',
        good: 1,
        total: 2,
        pending: 0,
        provisional: 0,
        latencyCount: 1,
        keys: [10],
        counts: [1],
        open: [[1, 1234]],
      },
    ])
    expect(held.bytes).toBe(200 + 160 + 'north'.length * 2 + 24 + 48)
    expect(empty).toEqual({ rows: [], bytes: 200 })
  })

  it("put a read's rows in its windows, per segment, within each segment's range", () => {
    const from = T0 * 1000
    const start = T0 - (T0 % 3840)
    const held = new Map([
      [
        keyOf('c', 60, 'region', start),
        { rows: [row(T0 - 60, 'n'), row(T0, 'n'), row(T0 + 60, 's'), row(T0 + 180, 'n')], bytes: 0 },
      ],
    ])
    const scope = {
      dimension: 'region',
      only: undefined,
      from,
      segments: [{ grain: 60, from, to: from + 180_000 }],
    }
    const by = windowRows({ cpi: 'c', from, to: from + 180_000, by: 'region', stepSeconds: 120 }, scope, held)
    expect([...by.keys()]).toEqual(['n', 's'])
    expect([...(by.get('n')?.entries() ?? [])]).toEqual([[T0, [row(T0, 'n')]]])
    expect([...(by.get('s')?.entries() ?? [])]).toEqual([[T0 + 60 - ((T0 + 60) % 120), [row(T0 + 60, 's')]]])
    const only = windowRows({ cpi: 'c', from, to: from + 180_000 }, { ...scope, only: 's' }, held)
    expect([...only.keys()]).toEqual(['all'])
    expect([...(only.get('all')?.entries() ?? [])]).toEqual([[T0, [row(T0 + 60, 's')]]])
  })
})
