import { describe, expect, it } from 'vitest'
import {
  csatTopTwoBox,
  customerEffortScore,
  differenceOfMeans,
  netPromoterScore,
  normalCdf,
  normalQuantile,
  remainingSampleSize,
  sampleSizePerArm,
  twoProportionTest,
  wilsonInterval,
} from './stats.ts'

// Reference figures come from published tables and worked examples, or from a 30-digit
// evaluation of √2·erfinv(2p − 1) and Φ(z) = erfc(−z/√2)/2 (mpmath), never from this code.

/** |actual − expected| ≤ tolerance · max(1, |expected|). */
const near = (actual: number | null, expected: number, tolerance = 1e-12) => {
  expect(actual).not.toBeNull()
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(
    tolerance * Math.max(1, Math.abs(expected)),
  )
}

/** Relative closeness, for tail probabilities far below 1. */
const relativelyNear = (actual: number, expected: number, tolerance = 1e-12) => {
  expect(Math.abs(actual - expected) / expected).toBeLessThanOrEqual(tolerance)
}

describe('normalQuantile', () => {
  it.each([
    [0.975, 1.959963984540054],
    [0.025, -1.959963984540054],
    [0.95, 1.6448536269514726],
    [0.995, 2.575829303548901],
    [0.999, 3.0902323061678136],
    [0.9, 1.2815515655446004],
    [0.8, 0.8416212335729142],
    [0.3, -0.5244005127080408],
    [0.0001, -3.7190164854556804],
    [1e-10, -6.361340902404056],
  ])('Φ⁻¹(%s) = %s within 1e-12 (the brief asks < 1e-9)', (p, z) => {
    near(normalQuantile(p), z, 1e-12)
  })

  it('is exactly 0 at the median and symmetric', () => {
    expect(normalQuantile(0.5)).toBe(0)
    for (const p of [0.001, 0.1, 0.3, 0.45]) near(normalQuantile(p), -normalQuantile(1 - p), 1e-12)
  })

  it('reaches the far tail (r > 5 branch): Φ⁻¹(1e-300) = -37.0470962993612', () => {
    near(normalQuantile(1e-300), -37.0470962993612, 1e-12)
  })

  it('is ±Infinity at p = 0 and p = 1', () => {
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY)
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY)
  })

  it('throws outside [0, 1]', () => {
    expect(() => normalQuantile(-0.1)).toThrow(RangeError)
    expect(() => normalQuantile(1.5)).toThrow(/p must be a probability/)
    expect(() => normalQuantile(Number.NaN)).toThrow(RangeError)
  })
})

describe('normalCdf', () => {
  it.each([
    [1.96, 0.9750021048517796],
    [-1.96, 0.024997895148220435],
    [1, 0.8413447460685429],
    [0.5, 0.6914624612740131],
    [2.5, 0.993790334674224],
    [2.8, 0.9974448696695721],
    [5, 0.9999997133484281],
  ])('Φ(%s) = %s', (z, p) => {
    near(normalCdf(z), p, 1e-14)
  })

  it('is exactly 1/2 at 0 and accurate in relative terms far in the lower tail', () => {
    expect(normalCdf(0)).toBe(0.5)
    relativelyNear(normalCdf(-2.8), 0.0025551303304279342, 1e-12)
    relativelyNear(normalCdf(-3), 0.0013498980316300946, 1e-12)
    relativelyNear(normalCdf(-8), 6.220960574271784e-16, 1e-12)
    relativelyNear(normalCdf(-20), 2.753624118606234e-89, 1e-12)
    relativelyNear(normalCdf(-37), 5.725571222524577e-300, 1e-12)
  })

  it('inverts normalQuantile', () => {
    for (const p of [1e-8, 0.01, 0.2, 0.5, 0.7, 0.99, 0.999999])
      relativelyNear(normalCdf(normalQuantile(p)), p, 1e-13)
  })

  it('handles infinities and rejects NaN', () => {
    expect(normalCdf(Number.POSITIVE_INFINITY)).toBe(1)
    expect(normalCdf(Number.NEGATIVE_INFINITY)).toBe(0)
    expect(() => normalCdf(Number.NaN)).toThrow(RangeError)
  })
})

describe('wilsonInterval', () => {
  it('81 of 263 at 95 % is [0.2553, 0.3662]', () => {
    // By hand: p̂ = 81/263 = 0.307985, z = 1.959964, z² = 3.841459.
    //   denominator 1 + z²/n          = 1 + 3.841459/263              = 1.014606
    //   centre (p̂ + z²/2n)/denominator = (0.307985 + 0.007303)/1.014606 = 0.310749
    //   half   z·√(p̂(1−p̂)/n + z²/4n²)/denominator
    //          = 1.959964·√(0.000810381 + 0.000013884)/1.014606        = 0.055461
    //   → [0.310749 − 0.055461, 0.310749 + 0.055461] = [0.255288, 0.366210]
    const w = wilsonInterval(81, 263)
    near(w.estimate, 81 / 263)
    expect(w.lower).toBeCloseTo(0.2553, 4)
    expect(w.upper).toBeCloseTo(0.3662, 4)
    near(w.lower, 0.2552885198782742, 1e-12)
    near(w.upper, 0.3662095769828001, 1e-12)
  })

  it('0 of 10: lower exactly 0, upper z²/(n + z²) = 3.8415/13.8415 = 0.2775', () => {
    const w = wilsonInterval(0, 10)
    expect(w).toMatchObject({ estimate: 0, lower: 0 })
    near(w.upper, 0.2775327998628892, 1e-12)
  })

  it('all successes (10 of 10): upper exactly 1, lower n/(n + z²) = 0.7225', () => {
    const w = wilsonInterval(10, 10)
    expect(w).toMatchObject({ estimate: 1, upper: 1 })
    near(w.lower, 0.7224672001371109, 1e-12)
  })

  it('zero trials: null estimate and the whole [0, 1]', () => {
    expect(wilsonInterval(0, 0)).toEqual({ estimate: null, lower: 0, upper: 1 })
  })

  it('narrows as confidence falls (90 % inside 95 % inside 99 %)', () => {
    const [w90, w95, w99] = [0.9, 0.95, 0.99].map((c) => wilsonInterval(30, 100, c))
    expect(w99?.lower).toBeLessThan(w95?.lower as number)
    expect(w95?.lower).toBeLessThan(w90?.lower as number)
    expect(w90?.upper).toBeLessThan(w95?.upper as number)
    expect(w95?.upper).toBeLessThan(w99?.upper as number)
  })

  it('rejects impossible counts and confidence levels, naming the argument', () => {
    expect(() => wilsonInterval(11, 10)).toThrow(/successes \(11\) must not exceed trials \(10\)/)
    expect(() => wilsonInterval(-1, 10)).toThrow(/successes must be a non-negative integer/)
    expect(() => wilsonInterval(1.5, 10)).toThrow(RangeError)
    expect(() => wilsonInterval(1, 10, 1)).toThrow(/confidence must be in \(0, 1\)/)
    expect(() => wilsonInterval(1, 10, 0)).toThrow(RangeError)
  })
})

describe('twoProportionTest', () => {
  // Interval: Newcombe's hybrid score interval (Newcombe 1998, Statistics in Medicine 17:873–890,
  // method 10). With d = pB − pA and (lA, uA), (lB, uB) each arm's Wilson interval,
  //   lower = d − √((pB − lB)² + (uA − pA)²),  upper = d + √((uB − pB)² + (pA − lA)²).
  // Full-precision figures from Python's standard library (statistics.NormalDist().inv_cdf for z,
  // math.sqrt), implementing Wilson and Newcombe from these formulas, independently of this code.

  it('45/100 vs 60/100: pooled p 0.525, z ≈ 2.124, two-sided p ≈ 0.0337', () => {
    // By hand: pooled p = (45 + 60)/200 = 0.525;
    //   pooled SE = √(0.525·0.475·(1/100 + 1/100)) = √0.0049875 = 0.0706222
    //   z = (0.60 − 0.45)/0.0706222 = 2.12398 (a figure of 2.1254 sometimes quoted for this
    //   example is a rounding slip: 0.15/0.0706 = 2.1246, and 2.1254 fits no rounding of the SE);
    //   p = 2·(1 − Φ(2.12398)) = 0.033672.
    //   Unpooled SE (reported) = √(0.45·0.55/100 + 0.60·0.40/100) = √0.004875 = 0.0698212.
    //   Newcombe 95 %: Wilson A 45/100 = [0.356145, 0.547554], B 60/100 = [0.502003, 0.690599];
    //   lower = 0.15 − √(0.097997² + 0.097554²) = 0.15 − 0.138276 = 0.011724
    //   upper = 0.15 + √(0.090599² + 0.093855²) = 0.15 + 0.130449 = 0.280449
    //   (the Wald interval was [0.013153, 0.286847]).
    const t = twoProportionTest({ successes: 45, trials: 100 }, { successes: 60, trials: 100 })
    near(t.pA, 0.45)
    near(t.pB, 0.6)
    near(t.difference, 0.15)
    near(t.standardError, 0.0698212002188447, 1e-12)
    near(t.z, 2.123976976214366, 1e-12)
    near(t.pValue, 0.03367206885634583, 1e-12)
    expect(t.pValue).toBeCloseTo(0.0337, 4)
    near(t.interval.lower, 0.01172393531997351, 1e-12)
    near(t.interval.upper, 0.2804485210107637, 1e-12)
  })

  it('reproduces Newcombe (1998) Table II, example (a): 56/70 − 48/80 = 0.2, method 10 [0.0524, 0.3339]', () => {
    // The paper's difference is 56/70 − 48/80 = 0.8 − 0.6, so A = 48/80 and B = 56/70.
    //   Wilson A 48/80 = [0.490455, 0.700382], B 56/70 = [0.691834, 0.876953];
    //   lower = 0.2 − √(0.108166² + 0.100382²) = 0.2 − 0.147569 = 0.052431
    //   upper = 0.2 + √(0.076953² + 0.109545²) = 0.2 + 0.133873 = 0.333873
    const t = twoProportionTest({ successes: 48, trials: 80 }, { successes: 56, trials: 70 })
    near(t.difference, 0.2)
    expect(t.interval.lower).toBeCloseTo(0.0524, 4)
    expect(t.interval.upper).toBeCloseTo(0.3339, 4)
    near(t.interval.lower, 0.05243147240236498, 1e-12)
    near(t.interval.upper, 0.3338726540369059, 1e-12)
  })

  it('uses the given confidence for the Wilson intervals; the p-value does not depend on it', () => {
    // 90 % (z = 1.644854): Wilson A 45/100 = [0.370561, 0.532073], B 60/100 = [0.517810, 0.676922];
    //   lower = 0.15 − √(0.082190² + 0.082073²) = 0.033848; upper = 0.15 + √(0.076922² + 0.079439²) = 0.260578
    const t = twoProportionTest({ successes: 45, trials: 100 }, { successes: 60, trials: 100 }, 0.9)
    near(t.interval.lower, 0.03384792712734459, 1e-12)
    near(t.interval.upper, 0.260578233291608, 1e-12)
    near(t.pValue, 0.03367206885634583, 1e-12)
    expect(() => twoProportionTest({ successes: 1, trials: 10 }, { successes: 2, trials: 10 }, 1)).toThrow(
      /confidence must be in \(0, 1\)/,
    )
  })

  it('is antisymmetric in the arms: swapping them negates z, the difference and the interval, keeps p', () => {
    const ab = twoProportionTest({ successes: 45, trials: 100 }, { successes: 60, trials: 100 })
    const ba = twoProportionTest({ successes: 60, trials: 100 }, { successes: 45, trials: 100 })
    near(ba.z, -ab.z)
    near(ba.difference, -ab.difference)
    near(ba.pValue, ab.pValue)
    near(ba.interval.lower, -ab.interval.upper)
    near(ba.interval.upper, -ab.interval.lower)
  })

  it('identical arms: z 0, p 1', () => {
    const t = twoProportionTest({ successes: 30, trials: 120 }, { successes: 30, trials: 120 })
    expect(t.z).toBe(0)
    expect(t.pValue).toBe(1)
  })

  it('both arms all failures or all successes: z 0, p 1, and an interval around 0 (no longer [0, 0])', () => {
    // z² = 1.959964² = 3.841459. 0/50 vs 0/80: Wilson A = [0, z²/(50 + z²)] = [0, 0.071348],
    //   B = [0, z²/(80 + z²)] = [0, 0.045818] → lower = 0 − √(0² + 0.071348²) = −0.071348,
    //   upper = 0 + √(0.045818² + 0²) = 0.045818.
    const none = twoProportionTest({ successes: 0, trials: 50 }, { successes: 0, trials: 80 })
    expect(none).toMatchObject({ difference: 0, standardError: 0, z: 0, pValue: 1 })
    near(none.interval.lower, -0.07134759913335868, 1e-12)
    near(none.interval.upper, 0.045818129535527094, 1e-12)
    // 50/50 vs 80/80: Wilson A = [50/(50 + z²), 1] = [0.928652, 1], B = [80/(80 + z²), 1] = [0.954182, 1]
    //   → lower = 0 − √((1 − 0.954182)² + 0²) = −0.045818, upper = 0 + √(0² + (1 − 0.928652)²) = 0.071348.
    const all = twoProportionTest({ successes: 50, trials: 50 }, { successes: 80, trials: 80 })
    expect(all).toMatchObject({ difference: 0, standardError: 0, z: 0, pValue: 1 })
    near(all.interval.lower, -0.045818129535527, 1e-12)
    near(all.interval.upper, 0.07134759913335864, 1e-12)
  })

  it('p at 0 and 1 (0/50 vs 50/50): the pooled z is 50/√(0.25·0.04) = 10, the interval stays in [-1, 1]', () => {
    // Newcombe: Wilson A = [0, 0.071348], B = [0.928652, 1];
    //   lower = 1 − √(0.071348² + 0.071348²) = 1 − 0.100901 = 0.899099; upper = 1 + √(0² + 0²) = 1.
    const t = twoProportionTest({ successes: 0, trials: 50 }, { successes: 50, trials: 50 })
    expect(t.difference).toBe(1)
    near(t.z, 10)
    relativelyNear(t.pValue, 1.523970604832105e-23, 1e-10)
    near(t.interval.lower, 0.8990992576628453, 1e-12)
    expect(t.interval.upper).toBe(1)
  })

  it('a zero-success arm no longer contradicts the p-value: 35/90 vs 0/3', () => {
    // d = 0 − 0.388889 = −0.388889; pooled p̄ = 35/93 = 0.376344,
    //   SE₀ = √(0.376344·0.623656·(1/90 + 1/3)) = 0.284331 → z = −1.367732, p = 0.171396 (not significant).
    //   The Wald interval −0.388889 ± 1.959964·√(0.388889·0.611111/90) = [−0.489605, −0.288173] excluded 0.
    //   Newcombe: Wilson A 35/90 = [0.294699, 0.492175], B 0/3 = [0, 0.561497];
    //   lower = −0.388889 − √(0² + 0.103287²) = −0.492175; upper = −0.388889 + √(0.561497² + 0.094190²)
    //   = −0.388889 + 0.569342 = 0.180453: it contains 0, as p > 0.05 says.
    const t = twoProportionTest({ successes: 35, trials: 90 }, { successes: 0, trials: 3 })
    near(t.difference, -35 / 90)
    near(t.z, -1.3677315727775, 1e-12)
    near(t.pValue, 0.17139611335061544, 1e-12)
    near(t.interval.lower, -0.4921754113493737, 1e-12)
    near(t.interval.upper, 0.18045338023991314, 1e-12)
    expect(t.pValue).toBeGreaterThan(0.05)
    expect(t.interval.lower).toBeLessThan(0)
    expect(t.interval.upper).toBeGreaterThan(0)
  })

  it('0/10 vs 2/10: p = 0.136 and the interval contains 0', () => {
    // pooled p̄ = 0.1, SE₀ = √(0.1·0.9·0.2) = 0.134164 → z = 1.490712, p = 0.136037.
    //   Wilson A 0/10 = [0, 0.277533], B 2/10 = [0.056682, 0.509838];
    //   lower = 0.2 − √(0.143318² + 0.277533²) = 0.2 − 0.312353 = −0.112353
    //   upper = 0.2 + √(0.309838² + 0²) = 0.509838
    const t = twoProportionTest({ successes: 0, trials: 10 }, { successes: 2, trials: 10 })
    near(t.z, 1.4907119849998598, 1e-12)
    near(t.pValue, 0.1360371281141437, 1e-12)
    near(t.interval.lower, -0.1123531026122217, 1e-12)
    near(t.interval.upper, 0.5098375284633582, 1e-12)
  })

  it('zero trials in either arm throw a RangeError naming the arm', () => {
    expect(() => twoProportionTest({ successes: 0, trials: 0 }, { successes: 1, trials: 10 })).toThrow(
      /a\.trials must be positive/,
    )
    expect(() => twoProportionTest({ successes: 1, trials: 10 }, { successes: 0, trials: 0 })).toThrow(
      /b\.trials must be positive/,
    )
    expect(() => twoProportionTest({ successes: 11, trials: 10 }, { successes: 0, trials: 10 })).toThrow(
      /a\.successes \(11\) must not exceed a\.trials/,
    )
  })
})

describe('sampleSizePerArm', () => {
  it('10 % → 12 % at α 0.05, power 0.8: 3841 per arm', () => {
    // By hand: p₁ = 0.10, p₂ = 0.12, p̄ = 0.11, δ = 0.02, z₀.₉₇₅ = 1.959964, z₀.₈ = 0.841621.
    //   z₀.₉₇₅·√(2·0.11·0.89)       = 1.959964·√0.1958 = 1.959964·0.442493 = 0.867270
    //   z₀.₈·√(0.10·0.90 + 0.12·0.88) = 0.841621·√0.1956 = 0.841621·0.442267 = 0.372221
    //   n = ((0.867270 + 0.372221)/0.02)² = 61.97457² = 3840.85 → 3841
    // This agrees with the 3,841 of G*Power and Evan Miller's calculator.
    expect(sampleSizePerArm({ baseline: 0.1, minimumDetectableEffect: 0.02 })).toBe(3841)
  })

  it('50 % → 60 %: ((1.959964·√0.495 + 0.841621·√0.49)/0.1)² = 387.34 → 388', () => {
    expect(sampleSizePerArm({ baseline: 0.5, minimumDetectableEffect: 0.1 })).toBe(388)
  })

  it('a drop is as hard to detect as the mirror rise: 20 % → 15 % needs 905.37 → 906', () => {
    expect(sampleSizePerArm({ baseline: 0.2, minimumDetectableEffect: -0.05 })).toBe(906)
  })

  it('needs more for a stricter α or higher power', () => {
    const base = sampleSizePerArm({ baseline: 0.1, minimumDetectableEffect: 0.02 })
    expect(sampleSizePerArm({ baseline: 0.1, minimumDetectableEffect: 0.02, alpha: 0.01 })).toBeGreaterThan(
      base,
    )
    expect(sampleSizePerArm({ baseline: 0.1, minimumDetectableEffect: 0.02, power: 0.9 })).toBeGreaterThan(
      base,
    )
  })

  it('rejects a zero effect, an impossible target rate, and bad α / power', () => {
    expect(() => sampleSizePerArm({ baseline: 0.1, minimumDetectableEffect: 0 })).toThrow(
      /minimumDetectableEffect/,
    )
    expect(() => sampleSizePerArm({ baseline: 0.95, minimumDetectableEffect: 0.1 })).toThrow(
      /minimumDetectableEffect/,
    )
    expect(() => sampleSizePerArm({ baseline: 0, minimumDetectableEffect: 0.1 })).toThrow(/baseline/)
    expect(() => sampleSizePerArm({ baseline: 1, minimumDetectableEffect: -0.1 })).toThrow(/baseline/)
    expect(() => sampleSizePerArm({ baseline: 0.1, minimumDetectableEffect: 0.02, alpha: 0 })).toThrow(
      /alpha/,
    )
    expect(() => sampleSizePerArm({ baseline: 0.1, minimumDetectableEffect: 0.02, power: 1 })).toThrow(
      /power/,
    )
  })
})

describe('remainingSampleSize', () => {
  it('is required − current, never negative', () => {
    expect(remainingSampleSize(1000, 3841)).toBe(2841)
    expect(remainingSampleSize(3841, 3841)).toBe(0)
    expect(remainingSampleSize(5000, 3841)).toBe(0)
  })

  it('rejects negative or fractional counts, naming the argument', () => {
    expect(() => remainingSampleSize(-1, 10)).toThrow(/currentPerArm/)
    expect(() => remainingSampleSize(1, 2.5)).toThrow(/requiredPerArm/)
  })
})

describe('differenceOfMeans', () => {
  it('Welch with z: [1..5] vs [2, 4, .., 10]', () => {
    // By hand: mean A 3, s²A = 10/4 = 2.5; mean B 6, s²B = 40/4 = 10.
    //   SE = √(2.5/5 + 10/5) = √2.5 = 1.581139; z = 3/1.581139 = 1.897367;
    //   p = 2·(1 − Φ(1.897367)) = 0.057780; 95 %: 3 ± 1.959964·1.581139 = [-0.098975, 6.098975]
    const d = differenceOfMeans([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    expect(d).toMatchObject({ meanA: 3, meanB: 6, difference: 3 })
    near(d.standardError, 1.5811388300841898, 1e-12)
    near(d.z, 1.8973665961010275, 1e-12)
    near(d.pValue, 0.05777957112359724, 1e-12)
    near(d.interval.lower, -0.09897516152280755, 1e-12)
    near(d.interval.upper, 6.098975161522808, 1e-12)
  })

  it('constant samples: zero standard error, z 0 for equal means and infinite otherwise', () => {
    const same = differenceOfMeans([2, 2], [2, 2, 2])
    expect(same).toMatchObject({ difference: 0, standardError: 0, z: 0, pValue: 1 })
    const apart = differenceOfMeans([2, 2], [3, 3])
    expect(apart).toMatchObject({ difference: 1, z: Number.POSITIVE_INFINITY, pValue: 0 })
  })

  it('needs two finite values per sample', () => {
    expect(() => differenceOfMeans([1], [1, 2])).toThrow(/a must have at least 2 values/)
    expect(() => differenceOfMeans([1, 2], [])).toThrow(/b must have at least 2 values/)
    expect(() => differenceOfMeans([1, 2], [1, Number.NaN])).toThrow(/b\[1\] must be a finite number/)
  })
})

describe('csatTopTwoBox', () => {
  it('counts 4 and 5 as satisfied: 5 of 8, Wilson [0.3057, 0.8632]', () => {
    // By hand: p̂ = 0.625, n = 8; denominator 1 + 3.841459/8 = 1.480182;
    //   centre (0.625 + 0.240091)/1.480182 = 0.584449;
    //   half 1.959964·√(0.029297 + 0.015006)/1.480182 = 0.278707 → [0.305742, 0.863156]
    const c = csatTopTwoBox([5, 4, 3, 5, 1, 4, 2, 5])
    expect(c).toMatchObject({ responses: 8, satisfied: 5, estimate: 0.625 })
    near(c.lower, 0.3057423946026273, 1e-12)
    near(c.upper, 0.8631557141764026, 1e-12)
  })

  it('no responses: null estimate; only scores 1–5 are accepted', () => {
    expect(csatTopTwoBox([])).toEqual({ responses: 0, satisfied: 0, estimate: null, lower: 0, upper: 1 })
    expect(() => csatTopTwoBox([5, 0])).toThrow(/scores\[1\] must be an integer from 1 to 5, got 0/)
    expect(() => csatTopTwoBox([4.5])).toThrow(RangeError)
  })
})

describe('netPromoterScore', () => {
  it('scores a small sample by hand: 5 promoters, 2 passives, 3 detractors of 10 → NPS 20', () => {
    // Promoters 10, 10, 9, 9, 9; passives 8, 7; detractors 6, 3, 0.
    //   NPS = 100·(5 − 3)/10 = 20.
    //   Var = (pP + pD − (pP − pD)²)/n = (0.5 + 0.3 − 0.04)/10 = 0.076; SE = 0.275681 → 27.5681 points
    //   95 %: 20 ± 1.959964·27.5681 = 20 ± 54.0325 → [-34.0325, 74.0325]
    const s = netPromoterScore([10, 10, 9, 9, 9, 8, 7, 6, 3, 0])
    expect(s).toMatchObject({ responses: 10, promoters: 5, passives: 2, detractors: 3 })
    near(s.score, 20, 1e-12)
    near(s.standardError, 27.568097504180443, 1e-12)
    near(s.lower, -34.0324782304822, 1e-12)
    near(s.upper, 74.0324782304822, 1e-12)
  })

  it('spans [-100, 100]: all promoters → 100 (a degenerate interval), all detractors → -100', () => {
    expect(netPromoterScore([9, 10, 10])).toMatchObject({
      score: 100,
      standardError: 0,
      lower: 100,
      upper: 100,
    })
    expect(netPromoterScore([0, 6, 3])).toMatchObject({ score: -100, lower: -100, upper: -100 })
  })

  it('clamps the interval to [-100, 100]', () => {
    const s = netPromoterScore([10, 10, 10, 0])
    expect(s.score).toBe(50)
    expect(s.upper).toBe(100)
  })

  it('no responses: null score, the whole range; scores must be integers 0–10', () => {
    expect(netPromoterScore([])).toMatchObject({ responses: 0, score: null, lower: -100, upper: 100 })
    expect(() => netPromoterScore([11])).toThrow(/scores\[0\] must be an integer from 0 to 10/)
  })
})

describe('customerEffortScore', () => {
  it('1..7 once each: mean 4, s = √(28/6) = 2.160247, 95 % 4 ± 1.959964·2.160247/√7 = [2.3997, 5.6003]', () => {
    const c = customerEffortScore([1, 2, 3, 4, 5, 6, 7])
    expect(c).toMatchObject({ responses: 7, mean: 4 })
    near(c.standardDeviation, 2.160246899469287, 1e-12)
    near(c.interval?.lower ?? null, 2.3996961078815633, 1e-12)
    near(c.interval?.upper ?? null, 5.600303892118436, 1e-12)
  })

  it('fewer than two responses have no interval; the interval stays on the 1–7 scale', () => {
    expect(customerEffortScore([])).toEqual({
      responses: 0,
      mean: null,
      standardDeviation: null,
      interval: null,
    })
    expect(customerEffortScore([6])).toEqual({
      responses: 1,
      mean: 6,
      standardDeviation: null,
      interval: null,
    })
    expect(customerEffortScore([7, 7, 7, 1])).toMatchObject({ interval: { upper: 7 } })
    expect(() => customerEffortScore([8])).toThrow(/from 1 to 7/)
  })
})
