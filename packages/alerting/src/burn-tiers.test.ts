import { describe, expect, it } from 'vitest'
import { burnRate, burnTiers, errorRate, formatFactor, formatPercent } from './burn-tiers.ts'

const MIN = 60_000
const H = 60 * MIN
const D = 24 * H

/** [severity, factor, long minutes, short minutes] of each tier. */
const windows = (window: number, target = 0.999, alerting: 'page' | 'ticket' = 'page') =>
  burnTiers({ target, window }, alerting).tiers.map((tier) => [
    tier.severity,
    tier.factor,
    tier.longMs / MIN,
    tier.shortMs / MIN,
  ])

describe('burnTiers: windows', () => {
  it('are exactly the workbook tiers for a 30-day objective', () => {
    expect(windows(30 * D)).toEqual([
      ['page', 14.4, 60, 5],
      ['page', 6, 360, 30],
      ['ticket', 3, 1440, 120],
      ['ticket', 1, 4320, 360],
    ])
  })

  it('scale by window / 30 d, rounded up to whole minutes (28 d: 5 min × 28/30 = 4.67 → 5)', () => {
    expect(windows(28 * D)).toEqual([
      ['page', 14.4, 56, 5],
      ['page', 6, 336, 28],
      ['ticket', 3, 1344, 112],
      ['ticket', 1, 4032, 336],
    ])
  })

  it('scale a 7-day objective (5 min × 7/30 = 1.17 → 2 min)', () => {
    expect(windows(7 * D)).toEqual([
      ['page', 14.4, 14, 2],
      ['page', 6, 84, 7],
      ['ticket', 3, 336, 28],
      ['ticket', 1, 1008, 84],
    ])
  })

  it('scale a 1-day objective, never below one minute (5 min / 30 and 30 min / 30 → 1 min)', () => {
    expect(windows(D)).toEqual([
      ['page', 14.4, 2, 1],
      ['page', 6, 12, 1],
      ['ticket', 3, 48, 4],
      ['ticket', 1, 144, 12],
    ])
  })

  it('keep the one-minute minimum for a tiny window, and are always whole minutes', () => {
    expect(windows(H)).toEqual([
      ['page', 14.4, 1, 1],
      ['page', 6, 1, 1],
      ['ticket', 3, 2, 1],
      ['ticket', 1, 6, 1],
    ])
    const workbook = new Map([
      [14.4, [H, 5 * MIN]],
      [6, [6 * H, 30 * MIN]],
      [3, [D, 2 * H]],
      [1, [3 * D, 6 * H]],
    ])
    for (const window of [13 * D + 7 * H + 3, 29 * D, 31 * D, 90 * D])
      for (const tier of burnTiers({ target: 0.99, window }, 'page').tiers) {
        const [long, short] = workbook.get(tier.factor) as number[]
        for (const [scaled, original] of [
          [tier.longMs, long as number],
          [tier.shortMs, short as number],
        ] as const) {
          const exact = (original * window) / (30 * D)
          expect(scaled % MIN).toBe(0)
          expect(scaled).toBeGreaterThanOrEqual(exact)
          expect(scaled - MIN).toBeLessThan(Math.max(exact, MIN))
        }
      }
  })
})

describe('burnTiers: thresholds and budget', () => {
  it('sets the error rate threshold to factor × (1 − target)', () => {
    const { tiers } = burnTiers({ target: 0.999, window: 30 * D }, 'page')
    expect(tiers.map((tier) => tier.errorRateThreshold)).toEqual([
      expect.closeTo(0.0144, 12),
      expect.closeTo(0.006, 12),
      expect.closeTo(0.003, 12),
      expect.closeTo(0.001, 12),
    ])
  })

  it('burns 2 %, 5 %, 10 % and 10 % of the budget before each tier fires (30 d)', () => {
    const { tiers } = burnTiers({ target: 0.99, window: 30 * D }, 'page')
    expect(tiers.map((tier) => tier.budgetShare)).toEqual([
      expect.closeTo(0.02, 12),
      expect.closeTo(0.05, 12),
      expect.closeTo(0.1, 12),
      expect.closeTo(0.1, 12),
    ])
  })

  it('computes the budget share from the rounded window (45 h: 1 h × 45/720 = 3.75 → 4 min)', () => {
    const [fastest] = burnTiers({ target: 0.99, window: 45 * H }, 'page').tiers
    expect(fastest?.longMs).toBe(4 * MIN)
    expect(fastest?.budgetShare).toBeCloseTo((14.4 * 4 * MIN) / (45 * H), 12)
    expect(fastest?.budgetShare).not.toBeCloseTo(0.02, 4)
  })
})

describe('burnTiers: tiers that can never fire', () => {
  it('drops 14.4× at target 90 % (it needs 144 % errors) and keeps 6× (60 %)', () => {
    const { tiers, warnings } = burnTiers({ target: 0.9, window: 30 * D }, 'page')
    expect(tiers.map((tier) => [tier.severity, tier.factor])).toEqual([
      ['page', 6],
      ['ticket', 3],
      ['ticket', 1],
    ])
    expect(tiers[0]?.errorRateThreshold).toBeCloseTo(0.6, 12)
    expect(warnings).toEqual(['page tier 14.4× can never fire at target 90%: it needs an error rate of 144%'])
  })

  it('keeps all four tiers at target 95 % (14.4× needs 72 %)', () => {
    const { tiers, warnings } = burnTiers({ target: 0.95, window: 28 * D }, 'page')
    expect(tiers.map((tier) => tier.factor)).toEqual([14.4, 6, 3, 1])
    expect(warnings).toEqual([])
  })

  it('leaves only the 1× tier at target 50 %, with one warning per dropped tier', () => {
    const { tiers, warnings } = burnTiers({ target: 0.5, window: 30 * D }, 'page')
    expect(tiers.map((tier) => [tier.severity, tier.factor, tier.errorRateThreshold])).toEqual([
      ['ticket', 1, 0.5],
    ])
    expect(warnings).toEqual([
      'page tier 14.4× can never fire at target 50%: it needs an error rate of 720%',
      'page tier 6× can never fire at target 50%: it needs an error rate of 300%',
      'ticket tier 3× can never fire at target 50%: it needs an error rate of 150%',
    ])
  })

  it('keeps a tier that needs exactly 100 % errors: it fires when every outcome fails', () => {
    const { tiers, warnings } = burnTiers({ target: 2 / 3, window: 30 * D }, 'page')
    expect(tiers.map((tier) => tier.factor)).toEqual([3, 1])
    expect(warnings).toHaveLength(2)
  })
})

describe('burnTiers: alerting level', () => {
  it("turns page tiers into tickets with alerting 'ticket'", () => {
    expect(windows(30 * D, 0.999, 'ticket')).toEqual([
      ['ticket', 14.4, 60, 5],
      ['ticket', 6, 360, 30],
      ['ticket', 3, 1440, 120],
      ['ticket', 1, 4320, 360],
    ])
    expect(burnTiers({ target: 0.9, window: 30 * D }, 'ticket').warnings).toEqual([
      'ticket tier 14.4× can never fire at target 90%: it needs an error rate of 144%',
    ])
  })

  it("returns no tiers and no warnings with alerting 'none', even for impossible tiers", () => {
    expect(burnTiers({ target: 0.5, window: 30 * D }, 'none')).toEqual({ tiers: [], warnings: [] })
  })

  it('refuses a target outside (0, 1) or a window that is not positive', () => {
    expect(() => burnTiers({ target: 1, window: D }, 'page')).toThrow(/target between 0 and 1, got 1/)
    expect(() => burnTiers({ target: 0.9, window: 0 }, 'page')).toThrow(/positive objective window/)
  })
})

describe('burn rate', () => {
  it('is the error rate over known outcomes divided by the error budget', () => {
    expect(errorRate({ good: 93, total: 100 })).toBeCloseTo(0.07, 12)
    expect(burnRate({ good: 93, total: 100 }, 0.99)).toBeCloseTo(7, 9)
    expect(burnRate({ good: 100, total: 100 }, 0.99)).toBe(0)
    expect(burnRate({ good: 0, total: 40 }, 0.9)).toBeCloseTo(10, 9)
  })

  it('is 0 when nothing is known (no outcomes is no evidence of errors)', () => {
    expect(burnRate({ good: 0, total: 0 }, 0.9)).toBe(0)
  })
})

describe('formatting', () => {
  it('writes factors and percentages without float noise', () => {
    expect(formatFactor(6)).toBe('6×')
    expect(formatFactor(14.4)).toBe('14.4×')
    expect(formatFactor(8.1666)).toBe('8.2×')
    expect(formatFactor(0.234)).toBe('0.23×')
    expect(formatPercent(14.4 * (1 - 0.9))).toBe('144%')
    expect(formatPercent(0.999)).toBe('99.9%')
  })
})
