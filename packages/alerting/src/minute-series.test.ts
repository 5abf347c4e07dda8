import { describe, expect, it } from 'vitest'
import { type MinuteCounts, MinuteSeries } from './minute-series.ts'

const MIN = 60_000
const T0 = Date.parse('2026-11-22T10:00:00Z')
const at = (minutes: number) => T0 + minutes * MIN

describe('MinuteSeries.window', () => {
  // Minutes 0, 1, 3 (2 is missing: zero), 5.
  const series = new MinuteSeries([
    { minute: at(0), good: 9, total: 10 },
    { minute: at(1), good: 18, total: 20 },
    { minute: at(3), good: 27, total: 30 },
    { minute: at(5), good: 0, total: 40 },
  ])

  it('covers the minutes starting in [end − length, end): the start is in, the end is out', () => {
    expect(series.window(at(4), 4 * MIN)).toEqual({ good: 54, total: 60 })
    expect(series.window(at(3), 3 * MIN)).toEqual({ good: 27, total: 30 })
    expect(series.window(at(6), MIN)).toEqual({ good: 0, total: 40 })
    expect(series.window(at(5), MIN)).toEqual({ good: 0, total: 0 })
  })

  it('counts missing minutes and windows outside the data as zero', () => {
    expect(series.window(at(3), MIN)).toEqual({ good: 0, total: 0 })
    expect(series.window(at(0), 60 * MIN)).toEqual({ good: 0, total: 0 })
    expect(series.window(at(100), 10 * MIN)).toEqual({ good: 0, total: 0 })
    expect(series.window(at(100), 1000 * MIN)).toEqual({ good: 54, total: 100 })
  })

  it('sorts unsorted rows and adds up rows of the same minute', () => {
    const messy = new MinuteSeries([
      { minute: at(3), good: 1, total: 1 },
      { minute: at(1), good: 2, total: 2 },
      { minute: at(3), good: 0, total: 4 },
    ])
    expect(messy.size).toBe(2)
    expect(messy.window(at(4), MIN)).toEqual({ good: 1, total: 5 })
    expect(messy.window(at(2), MIN)).toEqual({ good: 2, total: 2 })
  })

  it('agrees with a brute-force sum on random sparse data and random windows', () => {
    let seed = 42
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
      return seed / 2_147_483_648
    }
    const points: MinuteCounts[] = []
    for (let minute = 0; minute < 2000; minute++) {
      if (random() < 0.3) continue
      const total = Math.floor(random() * 50)
      points.push({ minute: at(minute), good: Math.floor(random() * (total + 1)), total })
    }
    const series = new MinuteSeries(points)
    for (let trial = 0; trial < 500; trial++) {
      const end = at(Math.floor(random() * 2100) - 50)
      const length = Math.floor(random() * 300) * MIN
      const inWindow = points.filter((point) => point.minute >= end - length && point.minute < end)
      expect(series.window(end, length)).toEqual({
        good: inWindow.reduce((sum, point) => sum + point.good, 0),
        total: inWindow.reduce((sum, point) => sum + point.total, 0),
      })
    }
  })

  it('refuses a row that is not at a whole minute or has more good than total', () => {
    expect(() => new MinuteSeries([{ minute: at(0) + 1, good: 0, total: 0 }])).toThrow(
      /row 0: expected minute at a whole minute/,
    )
    expect(() => new MinuteSeries([{ minute: at(0), good: 3, total: 2 }])).toThrow(
      /expected 0 ≤ good ≤ total, got good 3, total 2/,
    )
  })
})

describe('MinuteSeries.lastDataBefore', () => {
  const series = new MinuteSeries([
    { minute: at(0), good: 1, total: 1 },
    { minute: at(2), good: 0, total: 3 },
    { minute: at(4), good: 0, total: 0 },
  ])

  it('is the start of the last minute before the end with an outcome, skipping empty rows', () => {
    expect(series.lastDataBefore(at(10))).toBe(at(2))
    expect(series.lastDataBefore(at(2))).toBe(at(0))
    expect(series.lastDataBefore(at(0))).toBeNull()
  })
})
