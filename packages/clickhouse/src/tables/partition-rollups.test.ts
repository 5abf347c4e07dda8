import { describe, expect, it } from 'vitest'
import {
  addRowCounts,
  type CountedRow,
  emptyCounts,
  isEmptyCounts,
  latencyHistogramKey,
  minuteStart,
  rowDimensions,
} from './partition-rollups.ts'

const row = (extra: Partial<CountedRow> = {}): CountedRow => ({
  state: 'good',
  status: 'final',
  latency_ms: 1000,
  open: 0,
  segments: { channel: 'web' },
  kafka_partition: 2,
  cohortAt: Date.UTC(2026, 11, 7, 10, 5, 30),
  definition_version: 1,
  ...extra,
})

describe('the counts of one outcome row, as outcome_rollup_partition_rows counts them', () => {
  it('counts a good row with its latency in the histogram, under (all, all) and each segment', () => {
    const counts = emptyCounts()
    addRowCounts(counts, row(), 1)
    // ln(1000) / ln(1.01) = 694.2…: key 1 + 694.
    expect(latencyHistogramKey(1000)).toBe(695)
    expect(counts).toEqual({
      good: 1,
      total: 1,
      pending: 0,
      provisional: 0,
      latency_count: 1,
      latency_histogram: new Map([[695, 1]]),
      open_since: new Map(),
      definition_version: 1,
    })
    expect(rowDimensions(row())).toEqual([
      ['all', 'all'],
      ['channel', 'web'],
    ])
  })

  it('counts an open bad row by its start (its wait is measured when read), a pending provisional one, and no tombstone', () => {
    const counts = emptyCounts()
    addRowCounts(counts, row({ state: 'bad', open: 1, latency_ms: null }), 1)
    addRowCounts(counts, row({ state: 'pending', status: 'provisional', latency_ms: null }), 1)
    addRowCounts(counts, row({ state: 'excluded' }), 1)
    expect(counts.total).toBe(1)
    expect(counts.good).toBe(0)
    expect(counts.pending).toBe(1)
    expect(counts.provisional).toBe(1)
    expect(counts.latency_count).toBe(1)
    expect(counts.latency_histogram.size).toBe(0)
    expect(counts.open_since).toEqual(new Map([[`2:${Date.UTC(2026, 11, 7, 10, 5, 30)}`, 1]]))
  })

  it('takes a row away exactly: what remains counts nothing', () => {
    const counts = emptyCounts()
    addRowCounts(counts, row({ latency_ms: 0 }), 1)
    addRowCounts(counts, row({ state: 'bad', open: 1, latency_ms: null }), 1)
    addRowCounts(counts, row({ latency_ms: 0 }), -1)
    expect(isEmptyCounts(counts)).toBe(false)
    addRowCounts(counts, row({ state: 'bad', open: 1, latency_ms: null }), -1)
    expect(isEmptyCounts(counts)).toBe(true)
    expect(counts.latency_histogram.size).toBe(0) // keys at 0 are removed, not kept as zeros
  })

  it('gives negative latencies their own keys and starts minutes on the minute', () => {
    expect(latencyHistogramKey(0)).toBe(0)
    expect(latencyHistogramKey(-1000)).toBe(-695)
    expect(minuteStart(Date.UTC(2026, 11, 7, 10, 5, 30, 250))).toBe(Date.UTC(2026, 11, 7, 10, 5))
    expect(minuteStart(-30_000)).toBe(-60_000)
  })
})
