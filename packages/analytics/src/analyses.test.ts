import { describe, expect, it } from 'vitest'
import {
  type ArmCounts,
  analyzeExperiment,
  controlOf,
  customerIndex,
  type IndexComponentInput,
  type LinkGroupCounts,
  linkage,
  MIN_RESPONSES_FOR_GAP,
  perceptionGap,
  type SurveyCounts,
  scoresOf,
} from './analyses.ts'

// Every expected figure is computed independently of this package: by hand in the comments, and
// to full precision with Python's standard library (statistics.NormalDist for Φ and Φ⁻¹, math.sqrt),
// from the formulas written next to each figure:
//   z(c)        = NormalDist().inv_cdf(1 − (1 − c)/2)                     (0.95 → 1.959964)
//   Wilson      = (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)
//   two-prop.   d = pB − pA; z = d / √(p̄(1−p̄)(1/nA + 1/nB)), p̄ = (sA + sB)/(nA + nB);
//               p = 2·NormalDist().cdf(−|z|); interval: Newcombe's hybrid score interval
//               (Newcombe 1998, method 10) from the arms' Wilson intervals (lA, uA), (lB, uB):
//               [d − √((pB − lB)² + (uA − pA)²), d + √((uB − pB)² + (pA − lA)²)], clamped to [−1, 1]
//   NPS         100·(pP − pD), SE = 100·√((pP + pD − (pP − pD)²)/n)
//   Welch       d = mB − mA, SE = √(s²A/nA + s²B/nB) (sample variances), normal approximation
//   Fleiss      n = (z₁₋α/₂·√(2p̄(1−p̄)) + z₁₋β·√(p₁(1−p₁) + p₂(1−p₂)))² / δ², rounded up

describe('scoresOf', () => {
  it('expands a histogram, the first index being the score `first`', () => {
    expect(scoresOf([2, 0, 1], 1)).toEqual([1, 1, 3])
    expect(scoresOf([1, 1, 0, 2], 0)).toEqual([0, 1, 3, 3])
    expect(scoresOf([0, 0, 0], 1)).toEqual([])
    expect(scoresOf([], 0)).toEqual([])
  })

  it('rejects negative, fractional or non-finite counts, naming the index', () => {
    expect(() => scoresOf([1, -1], 1)).toThrow(RangeError)
    expect(() => scoresOf([1, -1], 1)).toThrow(/histogram\[1\] must be a count, got -1/)
    expect(() => scoresOf([0.5], 0)).toThrow(/histogram\[0\] must be a count, got 0\.5/)
    expect(() => scoresOf([1, 2, Number.NaN], 1)).toThrow(/histogram\[2\] must be a count, got NaN/)
    expect(() => scoresOf([Number.POSITIVE_INFINITY], 1)).toThrow(/histogram\[0\]/)
  })
})

describe('perceptionGap', () => {
  // Met: 200 interactions, 50 responses.
  //   CSAT 1..5: [1, 2, 5, 17, 25] → satisfied (4–5) = 17 + 25 = 42 of 50 = 0.84
  //   NPS 0..10: [0, 0, 1, 0, 1, 2, 3, 5, 8, 12, 18] → promoters 12 + 18 = 30, passives 5 + 8 = 13,
  //              detractors 1 + 1 + 2 + 3 = 7 → NPS 100·(30 − 7)/50 = 46
  //   CES 1..7:  [1, 2, 3, 6, 10, 15, 13] → Σ = 1 + 4 + 9 + 24 + 50 + 90 + 91 = 269, mean 5.38
  // Missed: 120 interactions, 40 responses.
  //   CSAT: [6, 8, 10, 10, 6] → satisfied 10 + 6 = 16 of 40 = 0.40
  //   NPS:  [2, 1, 2, 3, 2, 4, 6, 6, 6, 4, 4] → promoters 8, passives 12, detractors 20 → NPS −30
  //   CES:  [4, 6, 8, 8, 6, 5, 3] → Σ = 4 + 12 + 24 + 32 + 30 + 30 + 21 = 153, mean 3.825
  const met: SurveyCounts = {
    interactions: 200,
    responded: 50,
    csat: [1, 2, 5, 17, 25],
    nps: [0, 0, 1, 0, 1, 2, 3, 5, 8, 12, 18],
    ces: [1, 2, 3, 6, 10, 15, 13],
  }
  const missed: SurveyCounts = {
    interactions: 120,
    responded: 40,
    csat: [6, 8, 10, 10, 6],
    nps: [2, 1, 2, 3, 2, 4, 6, 6, 6, 4, 4],
    ces: [4, 6, 8, 8, 6, 5, 3],
  }
  const none: SurveyCounts = {
    interactions: 30,
    responded: 0,
    csat: [0, 0, 0, 0, 0],
    nps: [],
    ces: [0, 0, 0, 0, 0, 0, 0],
  }

  it('reports each group: counts, Wilson response rate, CSAT top-two-box, NPS and CES', () => {
    const { met: m, missed: x } = perceptionGap(met, missed)
    expect(m).toMatchObject({ interactions: 200, responses: 50 })
    expect(x).toMatchObject({ interactions: 120, responses: 40 })
    // Response rate met 50/200 = 0.25: Wilson [0.195082, 0.314341].
    expect(m.responseRate.estimate).toBeCloseTo(0.25, 12)
    expect(m.responseRate.lower).toBeCloseTo(0.195081680068175, 10)
    expect(m.responseRate.upper).toBeCloseTo(0.3143409831204583, 10)
    // Response rate missed 40/120 = 0.3333: Wilson [0.255317, 0.421689].
    expect(x.responseRate.estimate).toBeCloseTo(1 / 3, 12)
    expect(x.responseRate.lower).toBeCloseTo(0.25531740501258443, 10)
    expect(x.responseRate.upper).toBeCloseTo(0.4216889837936501, 10)
    // CSAT met 42/50: Wilson [0.714858, 0.916626]; missed 16/40: Wilson [0.263483, 0.554041].
    expect(m.csat).toMatchObject({ responses: 50, satisfied: 42 })
    expect(m.csat.estimate).toBeCloseTo(0.84, 12)
    expect(m.csat.lower).toBeCloseTo(0.7148578393696501, 10)
    expect(m.csat.upper).toBeCloseTo(0.916625793219666, 10)
    expect(x.csat).toMatchObject({ responses: 40, satisfied: 16 })
    expect(x.csat.estimate).toBeCloseTo(0.4, 12)
    expect(x.csat.lower).toBeCloseTo(0.26348325684291923, 10)
    expect(x.csat.upper).toBeCloseTo(0.554041063396538, 10)
    // NPS met: SE = 100·√((0.6 + 0.14 − 0.46²)/50) = 100·√(0.5284/50) = 10.280078 points.
    // NPS missed: SE = 100·√((0.2 + 0.5 − 0.3²)/40) = 100·√(0.61/40) = 12.349089 points.
    expect(m.nps).toMatchObject({ responses: 50, promoters: 30, passives: 13, detractors: 7 })
    expect(m.nps.score).toBeCloseTo(46, 10)
    expect(m.nps.standardError).toBeCloseTo(10.280077820717118, 10)
    expect(x.nps).toMatchObject({ responses: 40, promoters: 8, passives: 12, detractors: 20 })
    expect(x.nps.score).toBeCloseTo(-30, 10)
    expect(x.nps.standardError).toBeCloseTo(12.34908903522847, 10)
    // CES met: mean 5.38, s² = 2.281224, s = 1.510372; missed: mean 3.825, s² = 3.071154, s = 1.752471.
    expect(m.ces.responses).toBe(50)
    expect(m.ces.mean).toBeCloseTo(5.38, 12)
    expect(m.ces.standardDeviation).toBeCloseTo(1.510372301717665, 10)
    expect(x.ces.responses).toBe(40)
    expect(x.ces.mean).toBeCloseTo(3.825, 12)
    expect(x.ces.standardDeviation).toBeCloseTo(1.7524707832525614, 10)
  })

  it('CSAT gap: two proportions, met − missed, pooled z and Newcombe interval', () => {
    // d = 0.84 − 0.40 = 0.44 (A = missed 16/40, B = met 42/50).
    //   pooled p̄ = (42 + 16)/(50 + 40) = 0.644444; SE₀ = √(0.644444·0.355556·(1/50 + 1/40))
    //     = √(0.229136·0.045) = √0.0103111 = 0.101544 → z = 0.44/0.101544 = 4.333112
    //   p = 2·Φ(−4.333112) = 1.470161e-5
    //   Newcombe 95 %: Wilson A = [0.263483, 0.554041], B = [0.714858, 0.916626];
    //   lower = 0.44 − √((0.84 − 0.714858)² + (0.554041 − 0.4)²) = 0.44 − √(0.125142² + 0.154041²)
    //         = 0.44 − 0.198467 = 0.241533
    //   upper = 0.44 + √((0.916626 − 0.84)² + (0.4 − 0.263483)²) = 0.44 + √(0.076626² + 0.136517²)
    //         = 0.44 + 0.156551 = 0.596551
    const csat = perceptionGap(met, missed).gap.csat
    expect(csat).not.toBeNull()
    expect(csat?.difference).toBeCloseTo(0.44, 12)
    expect(csat?.z).toBeCloseTo(4.333112284370844, 9)
    expect(csat?.pValue).toBeCloseTo(1.4701607930822647e-5, 12)
    expect(csat?.interval.lower).toBeCloseTo(0.24153285012484169, 10)
    expect(csat?.interval.upper).toBeCloseTo(0.5965513760679202, 10)
  })

  it('NPS gap: difference of scores in points with SE = √(se₁² + se₂²)', () => {
    // d = 46 − (−30) = 76 points; SE = √(10.280078² + 12.349089²) = √(105.68 + 152.50) = 16.067981
    //   z = 76/16.067981 = 4.729904; p = 2·Φ(−4.729904) = 2.246264e-6
    //   95 %: 76 ± 1.959964·16.067981 = [44.507337, 107.492663] (inside the [-200, 200] bound)
    const nps = perceptionGap(met, missed).gap.nps
    expect(nps).not.toBeNull()
    expect(nps?.difference).toBeCloseTo(76, 10)
    expect(nps?.z).toBeCloseTo(4.729903649666717, 9)
    expect(nps?.pValue).toBeCloseTo(2.2462641783294046e-6, 12)
    expect(nps?.interval.lower).toBeCloseTo(44.50733675398651, 8)
    expect(nps?.interval.upper).toBeCloseTo(107.49266324601349, 8)
  })

  it('CES gap: Welch difference of means with the normal approximation, met − missed', () => {
    // d = 5.38 − 3.825 = 1.555; SE = √(2.281224/50 + 3.071154/40) = √(0.0456245 + 0.0767788)
    //   = √0.1224033 = 0.349862 → z = 4.444611; p = 2·Φ(−4.444611) = 8.805100e-6
    //   95 %: 1.555 ± 1.959964·0.349862 = [0.869283, 2.240717]
    const ces = perceptionGap(met, missed).gap.ces
    expect(ces).not.toBeNull()
    expect(ces?.difference).toBeCloseTo(1.555, 12)
    expect(ces?.z).toBeCloseTo(4.444611097548256, 9)
    expect(ces?.pValue).toBeCloseTo(8.805099862563281e-6, 12)
    expect(ces?.interval.lower).toBeCloseTo(0.8692833131922417, 10)
    expect(ces?.interval.upper).toBeCloseTo(2.2407166868077577, 10)
  })

  it('response-rate gap: met − missed over the interactions', () => {
    // d = 50/200 − 40/120 = 0.25 − 0.333333 = −0.083333
    //   pooled p̄ = 90/320 = 0.28125; SE₀ = √(0.28125·0.71875·(1/200 + 1/120)) = √0.00269531 = 0.0519164
    //   z = −0.083333/0.0519164 = −1.605145; p = 2·Φ(−1.605145) = 0.108462
    //   Newcombe 95 % (A = missed 40/120, B = met 50/200): Wilson A = [0.255317, 0.421689],
    //   B = [0.195082, 0.314341];
    //   lower = −0.083333 − √(0.054918² + 0.088356²) = −0.083333 − 0.104032 = −0.187366
    //   upper = −0.083333 + √(0.064341² + 0.078016²) = −0.083333 + 0.101125 = 0.017792
    const gap = perceptionGap(met, missed).responseRateGap
    expect(gap).not.toBeNull()
    expect(gap?.difference).toBeCloseTo(-1 / 12, 12)
    expect(gap?.z).toBeCloseTo(-1.6051447078102556, 9)
    expect(gap?.pValue).toBeCloseTo(0.10846196233898397, 10)
    expect(gap?.interval.lower).toBeCloseTo(-0.18736574574600384, 10)
    expect(gap?.interval.upper).toBeCloseTo(0.01779157547085461, 10)
  })

  it('swapping the groups negates every gap and keeps the p-values', () => {
    const ab = perceptionGap(met, missed)
    const ba = perceptionGap(missed, met)
    for (const key of ['csat', 'nps', 'ces'] as const) {
      expect(ba.gap[key]?.difference).toBeCloseTo(-(ab.gap[key]?.difference as number), 10)
      expect(ba.gap[key]?.pValue).toBeCloseTo(ab.gap[key]?.pValue as number, 12)
    }
    expect(ba.responseRateGap?.difference).toBeCloseTo(1 / 12, 12)
  })

  it('uses the given confidence: at 90 % the CSAT gap uses the 90 % Wilson intervals', () => {
    // z₀.₉₅ = 1.644854: Wilson A 16/40 = [0.282865, 0.529806], B 42/50 = [0.737672, 0.907422];
    //   lower = 0.44 − √(0.102328² + 0.129806²) = 0.44 − 0.165290 = 0.274710
    //   upper = 0.44 + √(0.067422² + 0.117135²) = 0.44 + 0.135153 = 0.575153
    // The p-value does not depend on the confidence.
    const r = perceptionGap(met, missed, 0.9)
    expect(r.gap.csat?.interval.lower).toBeCloseTo(0.27471033627330604, 10)
    expect(r.gap.csat?.interval.upper).toBeCloseTo(0.5751530891462452, 10)
    expect(r.gap.csat?.pValue).toBeCloseTo(1.4701607930822647e-5, 12)
  })

  it('a group without responses: no score gaps, but the response-rate gap remains', () => {
    const r = perceptionGap(met, none)
    expect(r.gap).toEqual({ csat: null, nps: null, ces: null })
    expect(r.missed.csat).toMatchObject({ responses: 0, estimate: null })
    expect(r.missed.nps).toMatchObject({ responses: 0, score: null, standardError: null })
    expect(r.missed.ces).toMatchObject({ responses: 0, mean: null })
    // 50/200 vs 0/30: d = 0.25 − 0 = 0.25; pooled p̄ = 50/230 = 0.217391;
    //   SE₀ = √(0.217391·0.782609·(1/200 + 1/30)) = √(0.170132·0.0383333) = 0.0807573 → z = 3.095696
    //   Newcombe 95 % (A = 0/30, B = 50/200): Wilson A = [0, 0.113513], B = [0.195082, 0.314341];
    //   lower = 0.25 − √(0.054918² + 0.113513²) = 0.25 − 0.126100 = 0.123900
    //   upper = 0.25 + √(0.064341² + 0²) = 0.314341 (B's Wilson upper, since A's Wilson lower is its estimate 0)
    expect(r.responseRateGap?.difference).toBeCloseTo(0.25, 12)
    expect(r.responseRateGap?.z).toBeCloseTo(
      0.25 / Math.sqrt((50 / 230) * (180 / 230) * (1 / 200 + 1 / 30)),
      12,
    )
    expect(r.responseRateGap?.z).toBeCloseTo(3.095695936834452, 9)
    expect(r.responseRateGap?.interval.lower).toBeCloseTo(0.12389959439398182, 10)
    expect(r.responseRateGap?.interval.upper).toBeCloseTo(0.3143409831204583, 10)
    expect(perceptionGap(none, met).gap).toEqual({ csat: null, nps: null, ces: null })
  })

  it('fewer than MIN_RESPONSES_FOR_GAP (10) CES or NPS responses: no such gap while the others compare', () => {
    expect(MIN_RESPONSES_FOR_GAP).toBe(10)
    const one: SurveyCounts = { ...missed, ces: [0, 0, 0, 0, 1, 0, 0] }
    const r = perceptionGap(met, one)
    expect(r.gap.ces).toBeNull()
    expect(r.gap.csat).not.toBeNull()
    expect(r.gap.nps).not.toBeNull()
    expect(perceptionGap({ ...met, ces: [0, 1] }, missed).gap.ces).toBeNull()
    // Nine identical NPS responses have a standard error of 0: compared, they would claim certainty.
    const nineDetractors: SurveyCounts = { ...missed, nps: [9] }
    expect(perceptionGap(met, nineDetractors).gap.nps).toBeNull()
    expect(perceptionGap(met, nineDetractors).gap.csat).not.toBeNull()
    const tenDetractors: SurveyCounts = { ...missed, nps: [10] }
    expect(perceptionGap(met, tenDetractors).gap.nps?.difference).toBeCloseTo(46 - -100, 12)
    const nineCes: SurveyCounts = { ...missed, ces: [0, 0, 9, 0, 0, 0, 0] }
    expect(perceptionGap(met, nineCes).gap.ces).toBeNull()
    expect(perceptionGap(met, { ...missed, ces: [0, 0, 9, 1, 0, 0, 0] }).gap.ces).not.toBeNull()
  })

  it('no interactions in a group: its response rate is unknown and there is no response-rate gap', () => {
    const empty: SurveyCounts = { interactions: 0, responded: 0, csat: [], nps: [], ces: [] }
    const r = perceptionGap(empty, missed)
    expect(r.met.responseRate).toEqual({ estimate: null, lower: 0, upper: 1 })
    expect(r.responseRateGap).toBeNull()
    expect(r.gap).toEqual({ csat: null, nps: null, ces: null })
  })

  it('rejects a bad histogram, naming the index', () => {
    expect(() => perceptionGap({ ...met, ces: [1, -2] }, missed)).toThrow(/histogram\[1\] must be a count/)
  })
})

describe('linkage', () => {
  const groups: LinkGroupCounts[] = [
    { group: 'met', trials: 400, successes: 120, followUpComplete: 380 },
    { group: 'missed', trials: 150, successes: 30, followUpComplete: 150 },
    { group: 'unknown', trials: 0, successes: 0 },
    { group: 'slow', trials: 80, successes: 12 },
  ]

  it('gives each group its Wilson rate, keeping groups without trials and passing followUpComplete', () => {
    // met 120/400 = 0.30: [0.257168, 0.346637]; missed 30/150 = 0.20: [0.143841, 0.271141];
    // slow 12/80 = 0.15: [0.087940, 0.244132]; unknown: no trials → null, [0, 1].
    const r = linkage(groups)
    expect(r.groups.map((g) => [g.group, g.trials, g.successes, g.followUpComplete])).toEqual([
      ['met', 400, 120, 380],
      ['missed', 150, 30, 150],
      ['unknown', 0, 0, null],
      ['slow', 80, 12, null],
    ])
    const [m, x, u, s] = r.groups
    expect(m?.rate.estimate).toBeCloseTo(0.3, 12)
    expect(m?.rate.lower).toBeCloseTo(0.25716767195619705, 10)
    expect(m?.rate.upper).toBeCloseTo(0.34663724577752153, 10)
    expect(x?.rate.estimate).toBeCloseTo(0.2, 12)
    expect(x?.rate.lower).toBeCloseTo(0.14384081582284966, 10)
    expect(x?.rate.upper).toBeCloseTo(0.2711413307979963, 10)
    expect(u?.rate).toEqual({ estimate: null, lower: 0, upper: 1 })
    expect(s?.rate.estimate).toBeCloseTo(0.15, 12)
    expect(s?.rate.lower).toBeCloseTo(0.08794040506163552, 10)
    expect(s?.rate.upper).toBeCloseTo(0.24413228561323347, 10)
  })

  it('compares every other group with the first by default, skipping groups without trials', () => {
    // missed − met = 0.20 − 0.30 = −0.10
    //   pooled p̄ = 150/550 = 0.272727; SE₀ = √(0.272727·0.727273·(1/400 + 1/150)) = 0.0426401
    //   z = −2.345208; p = 0.0190165
    //   Newcombe 95 %: Wilson met = [0.257168, 0.346637], missed = [0.143841, 0.271141];
    //   lower = −0.10 − √(0.056159² + 0.046637²) = −0.10 − 0.072999 = −0.172999
    //   upper = −0.10 + √(0.071141² + 0.042832²) = −0.10 + 0.083040 = −0.016960
    // slow − met = 0.15 − 0.30 = −0.15
    //   pooled p̄ = 132/480 = 0.275; SE₀ = √(0.275·0.725·(1/400 + 1/80)) = 0.0546866
    //   z = −2.742902; p = 0.00608989
    //   Newcombe 95 %: Wilson slow = [0.087940, 0.244132];
    //   lower = −0.15 − √(0.062060² + 0.046637²) = −0.15 − 0.077630 = −0.227630
    //   upper = −0.15 + √(0.094132² + 0.042832²) = −0.15 + 0.103419 = −0.046581
    const { comparisons } = linkage(groups)
    expect(comparisons.map((c) => [c.group, c.versus])).toEqual([
      ['missed', 'met'],
      ['slow', 'met'],
    ])
    const [missedVsMet, slowVsMet] = comparisons
    expect(missedVsMet?.difference).toBeCloseTo(-0.1, 12)
    expect(missedVsMet?.z).toBeCloseTo(-2.3452078799117144, 9)
    expect(missedVsMet?.pValue).toBeCloseTo(0.019016473672300527, 10)
    expect(missedVsMet?.interval.lower).toBeCloseTo(-0.17299922370242057, 10)
    expect(missedVsMet?.interval.upper).toBeCloseTo(-0.01695966478053039, 10)
    expect(slowVsMet?.difference).toBeCloseTo(-0.15, 12)
    expect(slowVsMet?.z).toBeCloseTo(-2.7429019252949662, 9)
    expect(slowVsMet?.pValue).toBeCloseTo(0.006089887114311687, 10)
    expect(slowVsMet?.interval.lower).toBeCloseTo(-0.22763005872487038, 10)
    expect(slowVsMet?.interval.upper).toBeCloseTo(-0.046580971187970874, 10)
  })

  it('compares with a named reference group', () => {
    // met − missed = +0.10 (z +2.345208, same p; Newcombe is antisymmetric: [0.016960, 0.172999]);
    // slow − missed = 0.15 − 0.20 = −0.05: pooled p̄ = 42/230 = 0.182609,
    //   SE₀ = √(0.182609·0.817391·(1/150 + 1/80)) = 0.0534871 → z = −0.934805, p = 0.349889;
    //   Newcombe 95 %: Wilson missed = [0.143841, 0.271141], slow = [0.087940, 0.244132];
    //   lower = −0.05 − √(0.062060² + 0.071141²) = −0.05 − 0.094406 = −0.144406
    //   upper = −0.05 + √(0.094132² + 0.056159²) = −0.05 + 0.109612 = 0.059612
    const { comparisons } = linkage(groups, 'missed')
    expect(comparisons.map((c) => [c.group, c.versus])).toEqual([
      ['met', 'missed'],
      ['slow', 'missed'],
    ])
    const [metVsMissed, slowVsMissed] = comparisons
    expect(metVsMissed?.difference).toBeCloseTo(0.1, 12)
    expect(metVsMissed?.z).toBeCloseTo(2.3452078799117144, 9)
    expect(metVsMissed?.interval.lower).toBeCloseTo(0.01695966478053039, 10)
    expect(metVsMissed?.interval.upper).toBeCloseTo(0.17299922370242057, 10)
    expect(slowVsMissed?.difference).toBeCloseTo(-0.05, 12)
    expect(slowVsMissed?.z).toBeCloseTo(-0.9348048900015561, 9)
    expect(slowVsMissed?.pValue).toBeCloseTo(0.3498888590529795, 10)
    expect(slowVsMissed?.interval.lower).toBeCloseTo(-0.14440594404815732, 10)
    expect(slowVsMissed?.interval.upper).toBeCloseTo(0.059611774742563364, 10)
  })

  it('uses the given confidence for the rates and the intervals (90 %: z = 1.644854)', () => {
    // met at 90 %: Wilson [0.263758, 0.338929]; missed at 90 %: Wilson [0.151808, 0.258823];
    //   missed − met: lower = −0.10 − √(0.048192² + 0.038929²) = −0.10 − 0.061951 = −0.161951
    //                 upper = −0.10 + √(0.058823² + 0.036242²) = −0.10 + 0.069091 = −0.030909
    const r = linkage(groups, undefined, 0.9)
    expect(r.groups[0]?.rate.lower).toBeCloseTo(0.2637581422686665, 10)
    expect(r.groups[0]?.rate.upper).toBeCloseTo(0.33892922421840926, 10)
    expect(r.comparisons[0]?.interval.lower).toBeCloseTo(-0.16195130102585112, 10)
    expect(r.comparisons[0]?.interval.upper).toBeCloseTo(-0.03090902004594412, 10)
  })

  it('no comparisons when the reference has no trials or does not exist; no groups at all', () => {
    expect(linkage(groups, 'unknown').comparisons).toEqual([])
    expect(linkage(groups, 'absent').comparisons).toEqual([])
    const firstEmpty = [groups[2], groups[0], groups[1]] as LinkGroupCounts[]
    expect(linkage(firstEmpty).comparisons).toEqual([])
    expect(linkage(firstEmpty).groups).toHaveLength(3)
    expect(linkage([])).toEqual({ groups: [], comparisons: [] })
  })
})

describe('controlOf', () => {
  it("prefers 'control', then 'A', then 'a', else the first variant in sort order", () => {
    expect(controlOf(['B', 'A', 'control'])).toBe('control')
    expect(controlOf(['B', 'a', 'A'])).toBe('A')
    expect(controlOf(['b', 'a'])).toBe('a')
    expect(controlOf(['v2', 'v1', 'v3'])).toBe('v1')
    // Code-unit order: upper case sorts before lower case.
    expect(controlOf(['treatment', 'Baseline'])).toBe('Baseline')
    expect(controlOf([])).toBe('')
  })

  it('does not reorder its input', () => {
    const variants = ['v2', 'v1']
    controlOf(variants)
    expect(variants).toEqual(['v2', 'v1'])
  })
})

describe('analyzeExperiment', () => {
  const arm = (variant: string, cpi: [number, number], kpi: [number, number] | null = null): ArmCounts => ({
    variant,
    cpi: { successes: cpi[0], trials: cpi[1] },
    kpi: kpi ? { successes: kpi[0], trials: kpi[1] } : null,
  })

  it('picks the control by name, whatever its position, and fills the default design', () => {
    const r = analyzeExperiment([arm('treatment', [150, 1000]), arm('control', [100, 1000])])
    expect(r.control).toBe('control')
    expect(r.design).toEqual({ alpha: 0.05, power: 0.8, minimumDetectableEffect: 0.02 })
    expect(r.comparisons.map((c) => [c.metric, c.variant, c.versus])).toEqual([
      ['cpi', 'treatment', 'control'],
    ])
    expect(analyzeExperiment([arm('B', [1, 10]), arm('A', [1, 10])]).control).toBe('A')
    expect(analyzeExperiment([arm('v2', [1, 10]), arm('v1', [1, 10])]).comparisons[0]?.versus).toBe('v1')
  })

  it('before the horizon: Wilson rates per arm, cpi and kpi comparisons, and no decision despite p < 0.001', () => {
    // Control cpi 100/1000 = 0.10, Wilson 95 % [0.082909, 0.120152]; kpi 50/1000 = 0.05 [0.038130, 0.065314].
    // B cpi 150/1000 = 0.15 [0.129210, 0.173469]; kpi 60/1000 = 0.06 [0.046896, 0.076471].
    // C cpi 95/1000, no KPI → only a cpi comparison.
    const r = analyzeExperiment([
      arm('A', [100, 1000], [50, 1000]),
      arm('B', [150, 1000], [60, 1000]),
      arm('C', [95, 1000]),
    ])
    expect(r.control).toBe('A')
    const [a, b, c] = r.arms
    expect(a?.cpi).toMatchObject({ successes: 100, trials: 1000 })
    expect(a?.cpi.rate.estimate).toBeCloseTo(0.1, 12)
    expect(a?.cpi.rate.lower).toBeCloseTo(0.08290944359309571, 10)
    expect(a?.cpi.rate.upper).toBeCloseTo(0.1201519631953484, 10)
    expect(a?.kpi?.rate.lower).toBeCloseTo(0.03813026239274882, 10)
    expect(a?.kpi?.rate.upper).toBeCloseTo(0.06531382024425081, 10)
    expect(b?.cpi.rate.lower).toBeCloseTo(0.1292100725130883, 10)
    expect(b?.cpi.rate.upper).toBeCloseTo(0.17346865842680032, 10)
    expect(b?.kpi?.rate.lower).toBeCloseTo(0.04689647267593196, 10)
    expect(b?.kpi?.rate.upper).toBeCloseTo(0.07647107479135655, 10)
    expect(c?.kpi).toBeNull()
    expect(r.comparisons.map((x) => [x.metric, x.variant])).toEqual([
      ['cpi', 'B'],
      ['kpi', 'B'],
      ['cpi', 'C'],
    ])
    const [cpiB, kpiB, cpiC] = r.comparisons
    // cpi B − A = 0.05: pooled p̄ = 0.125, SE₀ = √(0.125·0.875·0.002) = 0.0147902 → z = 3.380617,
    //   p = 0.000723; Newcombe 95 % from the Wilson intervals above:
    //   lower = 0.05 − √((0.15 − 0.129210)² + (0.120152 − 0.1)²) = 0.05 − 0.028954 = 0.021046
    //   upper = 0.05 + √((0.173469 − 0.15)² + (0.1 − 0.082909)²) = 0.05 + 0.029032 = 0.079032.
    // Required at the control's 0.10 for +0.02 (10 % → 12 %), by hand:
    //   1.959964·√(2·0.11·0.89) = 0.867270; 0.841621·√(0.09 + 0.1056) = 0.372221;
    //   n = ((0.867270 + 0.372221)/0.02)² = 61.97457² = 3840.85 → 3841; remaining 3841 − 1000 = 2841.
    expect(cpiB).toMatchObject({
      versus: 'A',
      requiredPerArm: 3841,
      remainingPerArm: 2841,
      horizonReached: false,
      decision: 'collecting',
    })
    expect(cpiB?.difference).toBeCloseTo(0.05, 12)
    expect(cpiB?.z).toBeCloseTo(3.3806170189140654, 9)
    expect(cpiB?.pValue).toBeCloseTo(0.0007232327164301555, 10)
    expect(cpiB?.pValue).toBeLessThan(0.001)
    expect(cpiB?.interval.lower).toBeCloseTo(0.021046197045332313, 10)
    expect(cpiB?.interval.upper).toBeCloseTo(0.07903213816878465, 10)
    // kpi B − A = 0.01: pooled p̄ = 0.055, SE₀ = √(0.055·0.945·0.002) = 0.0101956 → z = 0.980816, p = 0.326683.
    //   Newcombe 95 %: lower = 0.01 − √((0.06 − 0.046896)² + (0.065314 − 0.05)²) = 0.01 − 0.020155 = −0.010155
    //                  upper = 0.01 + √((0.076471 − 0.06)² + (0.05 − 0.038130)²) = 0.01 + 0.020302 = 0.030302
    // Required at the control's 0.05 for +0.02: 1.959964·√(2·0.06·0.94) = 0.658268;
    //   0.841621·√(0.0475 + 0.0651) = 0.282414; ((0.658268 + 0.282414)/0.02)² = 2212.20 → 2213.
    expect(kpiB).toMatchObject({ requiredPerArm: 2213, remainingPerArm: 1213, decision: 'collecting' })
    expect(kpiB?.difference).toBeCloseTo(0.01, 12)
    expect(kpiB?.z).toBeCloseTo(0.980816477227499, 9)
    expect(kpiB?.pValue).toBeCloseTo(0.32668325124120556, 10)
    expect(kpiB?.interval.lower).toBeCloseTo(-0.010154788979441678, 10)
    expect(kpiB?.interval.upper).toBeCloseTo(0.030302388422238754, 10)
    // cpi C − A = −0.005: pooled p̄ = 0.0975, z = −0.376903, p = 0.706246.
    expect(cpiC?.difference).toBeCloseTo(-0.005, 12)
    expect(cpiC?.z).toBeCloseTo(-0.3769025652839124, 9)
    expect(cpiC).toMatchObject({ requiredPerArm: 3841, remainingPerArm: 2841, decision: 'collecting' })
  })

  it('at the horizon the p-value decides: significant or not_significant', () => {
    // Control 400/4000 = 0.10 → 3841 per arm; 4000 ≥ 3841.
    // B 480/4000: d = 0.02, pooled p̄ = 0.11, SE₀ = √(0.11·0.89·0.0005) = 0.00699643 → z = 2.858602,
    //   p = 0.004255 < 0.05 → significant; Newcombe 95 %: Wilson control = [0.091083, 0.109684],
    //   B = [0.110292, 0.130437]; lower = 0.02 − √(0.009708² + 0.009684²) = 0.02 − 0.013712 = 0.006288,
    //   upper = 0.02 + √(0.010437² + 0.008917²) = 0.02 + 0.013727 = 0.033727.
    // C 410/4000: d = 0.0025, pooled p̄ = 0.10125, SE₀ = 0.00674531 → z = 0.370628, p = 0.710915 → not significant.
    const r = analyzeExperiment([arm('control', [400, 4000]), arm('B', [480, 4000]), arm('C', [410, 4000])])
    const [b, c] = r.comparisons
    expect(b).toMatchObject({
      variant: 'B',
      requiredPerArm: 3841,
      remainingPerArm: 0,
      horizonReached: true,
      decision: 'significant',
    })
    expect(b?.z).toBeCloseTo(2.8586016996464627, 9)
    expect(b?.pValue).toBeCloseTo(0.00425512687679741, 10)
    expect(b?.interval.lower).toBeCloseTo(0.006287901969046772, 10)
    expect(b?.interval.upper).toBeCloseTo(0.03372710536075374, 10)
    expect(c).toMatchObject({
      variant: 'C',
      requiredPerArm: 3841,
      remainingPerArm: 0,
      horizonReached: true,
      decision: 'not_significant',
    })
    expect(c?.pValue).toBeCloseTo(0.7109147431043807, 10)
  })

  it('the smaller arm sets the horizon', () => {
    // Control 4000 trials, D 3800: min = 3800 < 3841 → remaining 41, still collecting.
    const r = analyzeExperiment([arm('control', [400, 4000]), arm('D', [500, 3800])])
    expect(r.comparisons[0]).toMatchObject({
      requiredPerArm: 3841,
      remainingPerArm: 41,
      horizonReached: false,
      decision: 'collecting',
    })
  })

  it('sizes at the observed control rate with the given α, power and MDE (Fleiss, checked by hand)', () => {
    // α = 0.10 → Wilson at 90 %; control 240/1200 = 0.20, B 276/1200 = 0.23, MDE 0.05, power 0.9.
    //   z₀.₉₅ = 1.644854, z₀.₉ = 1.281552; p₁ = 0.20, p₂ = 0.25, p̄ = 0.225
    //   1.644854·√(2·0.225·0.775) = 1.644854·0.590551 = 0.971369
    //   1.281552·√(0.16 + 0.1875) = 1.281552·0.589491 = 0.755464
    //   n = ((0.971369 + 0.755464)/0.05)² = 34.53666² = 1192.78 → 1193 ≤ 1200: horizon reached.
    // d = 0.03, pooled p̄ = 0.215, SE₀ = √(0.215·0.785·(2/1200)) = 0.0167718 → z = 1.788722,
    //   p = 0.073660: above 0.05 but below α = 0.10 → significant.
    //   Newcombe 90 %: Wilson control = [0.181691, 0.219659], B = [0.210638, 0.250576];
    //   lower = 0.03 − √(0.019362² + 0.019659²) = 0.03 − 0.027592 = 0.002408,
    //   upper = 0.03 + √(0.020576² + 0.018309²) = 0.03 + 0.027543 = 0.057543.
    const r = analyzeExperiment([arm('control', [240, 1200]), arm('B', [276, 1200])], {
      alpha: 0.1,
      power: 0.9,
      minimumDetectableEffect: 0.05,
    })
    expect(r.design).toEqual({ alpha: 0.1, power: 0.9, minimumDetectableEffect: 0.05 })
    expect(r.comparisons[0]).toMatchObject({
      requiredPerArm: 1193,
      remainingPerArm: 0,
      horizonReached: true,
      decision: 'significant',
    })
    expect(r.comparisons[0]?.pValue).toBeCloseTo(0.0736596159640186, 10)
    expect(r.comparisons[0]?.interval.lower).toBeCloseTo(0.0024076714157221964, 10)
    expect(r.comparisons[0]?.interval.upper).toBeCloseTo(0.05754280018179572, 10)
    // Control 0.2 at 90 %: Wilson [0.180016, 0.221603] (1000 trials).
    const w = analyzeExperiment([arm('control', [200, 1000])], { alpha: 0.1 }).arms[0]?.cpi.rate
    expect(w?.lower).toBeCloseTo(0.18001586422178656, 10)
    expect(w?.upper).toBeCloseTo(0.22160308172206977, 10)
  })

  it('20 % control with MDE 0.05 at the default α and power needs 1094 per arm', () => {
    // 1.959964·√(2·0.225·0.775) = 1.157458; 0.841621·√(0.16 + 0.1875) = 0.496128;
    // n = ((1.157458 + 0.496128)/0.05)² = 33.071726² = 1093.74 → 1094; remaining 1094 − 900 = 194.
    const r = analyzeExperiment([arm('control', [200, 1000]), arm('B', [190, 900])], {
      minimumDetectableEffect: 0.05,
    })
    expect(r.comparisons[0]).toMatchObject({ requiredPerArm: 1094, remainingPerArm: 194 })
  })

  it('sizes downwards when baseline + MDE exceeds 1', () => {
    // Control 990/1000 = 0.99, MDE 0.02: 0.99 + 0.02 > 1, so 0.99 → 0.97.
    //   p̄ = 0.98: 1.959964·√(2·0.98·0.02) = 1.959964·0.197990 = 0.388053
    //   0.841621·√(0.99·0.01 + 0.97·0.03) = 0.841621·√0.039 = 0.166207
    //   n = ((0.388053 + 0.166207)/0.02)² = 27.712997² = 768.01 → 769 ≤ 1000: horizon reached.
    // B 985/1000: d = −0.005, pooled p̄ = 0.9875, z = −1.006309, p = 0.314267 → not significant.
    const r = analyzeExperiment([arm('control', [990, 1000]), arm('B', [985, 1000])])
    expect(r.comparisons[0]).toMatchObject({
      requiredPerArm: 769,
      remainingPerArm: 0,
      horizonReached: true,
      decision: 'not_significant',
    })
    expect(r.comparisons[0]?.pValue).toBeCloseTo(0.3142668510774007, 10)
  })

  it('cannot size at a control rate of 0 or 1, or when neither direction fits: collecting forever', () => {
    for (const control of [
      [0, 500],
      [500, 500],
    ] as [number, number][]) {
      const r = analyzeExperiment([arm('control', control), arm('B', [250, 500])])
      expect(r.comparisons[0]).toMatchObject({
        requiredPerArm: null,
        remainingPerArm: null,
        horizonReached: false,
        decision: 'collecting',
      })
    }
    // 0.5 + 0.6 > 1 and 0.5 − 0.6 < 0.
    const r = analyzeExperiment([arm('control', [50, 100]), arm('B', [10, 100])], {
      minimumDetectableEffect: 0.6,
    })
    expect(r.comparisons[0]).toMatchObject({
      requiredPerArm: null,
      remainingPerArm: null,
      decision: 'collecting',
    })
    expect(r.comparisons[0]?.pValue).toBeLessThan(1e-6)
  })

  it('skips comparisons where an arm has no trials, or where the KPI is missing on either side', () => {
    const r = analyzeExperiment([
      arm('control', [0, 0], [5, 100]),
      arm('B', [3, 100], [7, 100]),
      arm('C', [3, 100], [0, 0]),
      arm('D', [3, 100]),
    ])
    expect(r.comparisons.map((c) => [c.metric, c.variant])).toEqual([['kpi', 'B']])
    expect(r.arms[0]?.cpi.rate).toEqual({ estimate: null, lower: 0, upper: 1 })
    const noKpi = analyzeExperiment([arm('control', [5, 100]), arm('B', [3, 100], [7, 100])])
    expect(noKpi.comparisons.map((c) => c.metric)).toEqual(['cpi'])
  })

  it('a single arm or no arms: nothing to compare', () => {
    expect(analyzeExperiment([arm('control', [5, 100])]).comparisons).toEqual([])
    expect(analyzeExperiment([])).toMatchObject({ control: '', arms: [], comparisons: [] })
  })

  it('rejects an MDE outside (0, 1)', () => {
    const arms = [arm('control', [5, 100]), arm('B', [3, 100])]
    for (const mde of [0, 1, -0.02, 1.5, Number.NaN]) {
      expect(() => analyzeExperiment(arms, { minimumDetectableEffect: mde })).toThrow(
        /minimumDetectableEffect must be in \(0, 1\)/,
      )
    }
  })
})

describe('customerIndex', () => {
  // c1: weight 2, 90/100, target 0.95; c2: weight 1, 150/200, target 0.80;
  // c3: weight 1 but no data (0/0); c4: data (10/20) but weight 0.
  const components: IndexComponentInput[] = [
    { cpi: 'c1', weight: 2, good: 90, total: 100, target: 0.95 },
    { cpi: 'c2', weight: 1, good: 150, total: 200, target: 0.8 },
    { cpi: 'c3', weight: 1, good: 0, total: 0, target: 0.9 },
    { cpi: 'c4', weight: 0, good: 10, total: 20, target: 0.5 },
  ]

  it('is the weighted mean ×100 over the CPIs with data, weights renormalized', () => {
    // W = 2 + 1 = 3 (c3 has no data, c4 no weight): value = 100·(2/3·0.9 + 1/3·0.75) = 100·(0.6 + 0.25) = 85
    // target = 100·(2/3·0.95 + 1/3·0.80) = 100·(0.633333 + 0.266667) = 90
    // coverage = 3 / (2 + 1 + 1 + 0) = 0.75
    const r = customerIndex(components)
    expect(r.value).toBeCloseTo(85, 10)
    expect(r.target).toBeCloseTo(90, 10)
    expect(r.coverage).toBeCloseTo(0.75, 12)
  })

  it('Wald interval from Σ (wᵢ/W)² pᵢ(1 − pᵢ)/nᵢ', () => {
    // Var = (2/3)²·0.9·0.1/100 + (1/3)²·0.75·0.25/200 = 4/9·0.0009 + 1/9·0.0009375
    //     = 0.0004 + 0.000104167 = 0.000504167; SD = 0.0224537
    // 95 %: 0.85 ± 1.959964·0.0224537 = 0.85 ± 0.0440084 → [80.599164, 89.400836]
    // 90 %: 0.85 ± 1.644854·0.0224537 = 0.85 ± 0.0369330 → [81.306702, 88.693298]
    const r = customerIndex(components)
    expect(r.lower).toBeCloseTo(80.5991642966743, 8)
    expect(r.upper).toBeCloseTo(89.4008357033257, 8)
    const r90 = customerIndex(components, 0.9)
    expect(r90.value).toBeCloseTo(85, 10)
    expect(r90.lower).toBeCloseTo(81.30670225303577, 8)
    expect(r90.upper).toBeCloseTo(88.69329774696423, 8)
  })

  it("reports each component's share, ratio and contribution; contributions sum to the value", () => {
    // c1: share 2/3, contribution 100·2/3·0.9 = 60; c2: share 1/3, 100·1/3·0.75 = 25;
    // c3: no data → share 0, ratio null, contribution 0; c4: weight 0 → share 0, ratio 0.5, contribution 0.
    const r = customerIndex(components)
    expect(r.components.map((c) => [c.cpi, c.weight, c.total, c.ratio])).toEqual([
      ['c1', 2, 100, 0.9],
      ['c2', 1, 200, 0.75],
      ['c3', 1, 0, null],
      ['c4', 0, 20, 0.5],
    ])
    const [c1, c2, c3, c4] = r.components
    expect(c1?.share).toBeCloseTo(2 / 3, 12)
    expect(c1?.contribution).toBeCloseTo(60, 10)
    expect(c2?.share).toBeCloseTo(1 / 3, 12)
    expect(c2?.contribution).toBeCloseTo(25, 10)
    expect(c3).toMatchObject({ share: 0, contribution: 0 })
    expect(c4).toMatchObject({ share: 0, contribution: 0 })
    const sum = r.components.reduce((s, c) => s + c.contribution, 0)
    expect(sum).toBeCloseTo(r.value as number, 10)
  })

  it('clamps the interval to [0, 100]', () => {
    // 199/200 = 0.995: SD = √(0.995·0.005/200) = 0.00498748; half = 1.959964·0.00498748 = 0.00977529
    //   → [98.522471, 100.477529] → upper clamped to 100.
    const high = customerIndex([{ cpi: 'x', weight: 1, good: 199, total: 200, target: 1 }])
    expect(high.value).toBeCloseTo(99.5, 10)
    expect(high.lower).toBeCloseTo(98.52247103283449, 8)
    expect(high.upper).toBe(100)
    // 1/100 = 0.01: half = 1.959964·√(0.01·0.99/100) = 0.0195014 → [−0.950140, 2.950140] → lower 0.
    const low = customerIndex([{ cpi: 'x', weight: 3, good: 1, total: 100, target: 0.5 }])
    expect(low.value).toBeCloseTo(1, 10)
    expect(low.lower).toBe(0)
    expect(low.upper).toBeCloseTo(2.950139541798787, 8)
  })

  it('all-good or all-bad components have no variance: a point interval', () => {
    const r = customerIndex([
      { cpi: 'a', weight: 1, good: 50, total: 50, target: 1 },
      { cpi: 'b', weight: 1, good: 0, total: 30, target: 1 },
    ])
    // value = 100·(0.5·1 + 0.5·0) = 50, variance 0.
    expect(r.value).toBeCloseTo(50, 12)
    expect(r.lower).toBeCloseTo(50, 12)
    expect(r.upper).toBeCloseTo(50, 12)
  })

  it('no data (or only zero weights with data): null value, interval and target', () => {
    const r = customerIndex([
      { cpi: 'a', weight: 1, good: 0, total: 0, target: 0.9 },
      { cpi: 'b', weight: 0, good: 5, total: 10, target: 0.9 },
    ])
    expect(r).toMatchObject({ value: null, lower: null, upper: null, target: null, coverage: 0 })
    expect(r.components.map((c) => [c.share, c.ratio, c.contribution])).toEqual([
      [0, null, 0],
      [0, 0.5, 0],
    ])
    expect(customerIndex([])).toEqual({
      value: null,
      lower: null,
      upper: null,
      target: null,
      coverage: 0,
      components: [],
    })
  })

  it('rejects a negative (or NaN) weight, naming the CPI', () => {
    expect(() => customerIndex([{ cpi: 'c9', weight: -1, good: 1, total: 2, target: 0.5 }])).toThrow(
      /c9\.weight must be ≥ 0, got -1/,
    )
    expect(() => customerIndex([{ cpi: 'c9', weight: Number.NaN, good: 1, total: 2, target: 0.5 }])).toThrow(
      RangeError,
    )
  })
})

describe('analyzeExperiment at the fixed horizon', () => {
  // Planned from a baseline fixed in advance: p₁ = 0.20, MDE 0.25 → p₂ = 0.45, p̄ = 0.325;
  // n = (1.959964·√(2·0.325·0.675) + 0.841621·√(0.2·0.8 + 0.45·0.55))² / 0.25²
  //   = (1.298245 + 0.537255)² / 0.0625 = 53.905 → 54 per arm (python: 53.90496527160927).
  // A's first 54: 10 successes, then 100 more successes; B's first 54: 30, then 100 failures.
  // At the horizon: 10/54 vs 30/54, pooled p̄ = 40/108, z = (30/54 − 10/54)/√(p̄(1−p̄)·2/54)
  //   = 3.985267, p = 6.7404e-5. All the data says the opposite (110/154 vs 30/154).
  const a = `${'0'.repeat(44)}${'1'.repeat(10)}${'1'.repeat(100)}`
  const b = `${'1'.repeat(30)}${'0'.repeat(24)}${'0'.repeat(100)}`
  const arms = [
    { variant: 'A', cpi: { successes: 110, trials: 154 }, kpi: null, sequence: { cpi: a, kpi: null } },
    { variant: 'B', cpi: { successes: 30, trials: 154 }, kpi: null, sequence: { cpi: b, kpi: null } },
  ]

  it('decides on exactly the first requiredPerArm of each arm: later data never re-tests it', () => {
    const r = analyzeExperiment(arms, { minimumDetectableEffect: 0.25, baselines: { cpi: 0.2 } })
    const [comparison] = r.comparisons
    expect(comparison).toMatchObject({
      requiredPerArm: 54,
      plannedFromBaseline: true,
      horizonReached: true,
      decision: 'significant',
    })
    expect(comparison?.atHorizon).toMatchObject({
      perArm: 54,
      a: { successes: 10, trials: 54 },
      b: { successes: 30, trials: 54 },
    })
    expect(comparison?.atHorizon?.z).toBeCloseTo(3.985266984930429, 9)
    expect(comparison?.atHorizon?.pValue).toBeCloseTo(6.740429432083861e-5, 12)
    // The all-data figures are still reported, and point the other way.
    expect(comparison?.difference).toBeCloseTo(30 / 154 - 110 / 154, 12)
    expect(r.design.baselines).toEqual({ cpi: 0.2 })
  })

  it('without a baseline the horizon is planned from the control rate, and says so', () => {
    const [comparison] = analyzeExperiment(arms, { minimumDetectableEffect: 0.25 }).comparisons
    expect(comparison?.plannedFromBaseline).toBe(false)
    expect(comparison?.requiredPerArm).not.toBe(54)
  })

  it('without sequences the decision rests on all the data, and atHorizon is null', () => {
    const plain = arms.map(({ sequence: _sequence, ...arm }) => arm)
    const [comparison] = analyzeExperiment(plain, {
      minimumDetectableEffect: 0.25,
      baselines: { cpi: 0.2 },
    }).comparisons
    expect(comparison?.atHorizon).toBeNull()
    expect(comparison?.decision).toBe('significant')
    expect(comparison?.difference).toBeLessThan(0)
  })

  it('rejects a baseline outside (0, 1), naming it', () => {
    expect(() => analyzeExperiment(arms, { baselines: { kpi: 1 } })).toThrow(
      'baselines.kpi must be in (0, 1), got 1',
    )
  })
})
