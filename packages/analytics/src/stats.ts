/**
 * Pure statistics for customer-centric analytics: normal distribution, proportion intervals,
 * two-proportion z-tests, sample sizes, differences of means and survey scores.
 *
 * Conventions: proportions are fractions in [0, 1] except the NPS, which is in points
 * ([-100, 100]); differences are always B − A; `confidence` is two-sided (0.95 → z = 1.96);
 * invalid input throws a RangeError whose message names the offending argument.
 */

export type Interval = { lower: number; upper: number }

export type Counts = { successes: number; trials: number }

/** A proportion with its Wilson score interval; `estimate` is null when there were no trials. */
export type ProportionInterval = { estimate: number | null; lower: number; upper: number }

export type TwoProportionTest = {
  pA: number
  pB: number
  /** pB − pA. */
  difference: number
  /** Unpooled standard error √(pA(1−pA)/nA + pB(1−pB)/nB) of the difference; `interval` does not use it. */
  standardError: number
  /** (pB − pA) / pooled standard error (the test statistic under H0: pA = pB). */
  z: number
  /** Two-sided p-value of `z`. */
  pValue: number
  /**
   * Newcombe hybrid score interval for pB − pA (Newcombe 1998, method 10), built from each arm's
   * Wilson interval at the same confidence, clamped to [-1, 1].
   */
  interval: Interval
}

export type SampleSizeInput = {
  /** Conversion rate of the control arm, in (0, 1). */
  baseline: number
  /** Absolute change to detect (0.02 = 10 % → 12 %); may be negative, never 0. */
  minimumDetectableEffect: number
  /** Two-sided significance level; 0.05 unless given. */
  alpha?: number
  /** Probability of detecting the effect when it is real; 0.8 unless given. */
  power?: number
}

export type MeanDifference = {
  meanA: number
  meanB: number
  /** meanB − meanA. */
  difference: number
  /** sqrt(sA²/nA + sB²/nB) with sample variances (Welch). */
  standardError: number
  z: number
  pValue: number
  interval: Interval
}

export type CsatScore = ProportionInterval & { responses: number; satisfied: number }

export type NetPromoterScore = {
  responses: number
  promoters: number
  passives: number
  detractors: number
  /** %promoters − %detractors, in points; null when there were no responses. */
  score: number | null
  /** Standard error of the score in points (multinomial variance); null without responses. */
  standardError: number | null
  /** Wald interval in points, clamped to [-100, 100]; [-100, 100] without responses. */
  lower: number
  upper: number
}

export type CustomerEffortScore = {
  responses: number
  /** Mean score on the 1–7 scale; null when there were no responses. */
  mean: number | null
  /** Sample standard deviation; null with fewer than 2 responses. */
  standardDeviation: number | null
  /** Normal-approximation interval for the mean, clamped to [1, 7]; null with fewer than 2 responses. */
  interval: Interval | null
}

// ---------------------------------------------------------------------------------------------
// Normal distribution

// Wichura, "Algorithm AS 241: The Percentage Points of the Normal Distribution" (1988), PPND16:
// relative accuracy about 1e-16. The published 20-digit coefficients are written as their nearest doubles.
const A = [
  3.3871328727963665, 133.14166789178438, 1971.5909503065513, 13731.69376550946, 45921.95393154987,
  67265.7709270087, 33430.57558358813, 2509.0809287301227,
]
const B = [
  1, 42.31333070160091, 687.1870074920579, 5394.196021424751, 21213.794301586597, 39307.89580009271,
  28729.085735721943, 5226.495278852854,
]
const C = [
  1.4234371107496835, 4.630337846156546, 5.769497221460691, 3.6478483247632045, 1.2704582524523684,
  0.2417807251774506, 0.022723844989269184, 0.0007745450142783414,
]
const D = [
  1, 2.053191626637759, 1.6763848301838038, 0.6897673349851, 0.14810397642748008, 0.015198666563616457,
  0.0005475938084995345, 1.0507500716444169e-9,
]
const E = [
  6.657904643501103, 5.463784911164114, 1.7848265399172913, 0.29656057182850487, 0.026532189526576124,
  0.0012426609473880784, 0.000027115555687434876, 2.0103343992922881e-7,
]
const F = [
  1, 0.599832206555888, 0.1369298809227358, 0.014875361290850615, 0.0007868691311456133,
  0.000018463183175100548, 1.421511758316446e-7, 2.0442631033899397e-15,
]

/** Horner evaluation of c[0] + c[1]x + … + c[n]x^n. */
const poly = (c: readonly number[], x: number): number => {
  let sum = 0
  for (let i = c.length - 1; i >= 0; i--) sum = sum * x + (c[i] as number)
  return sum
}

/**
 * Inverse of the standard normal CDF: the z with Φ(z) = p. normalQuantile(0.975) = 1.959963984540054.
 * p = 0 gives -Infinity and p = 1 gives Infinity; p outside [0, 1] (or NaN) throws.
 */
export const normalQuantile = (p: number): number => {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be a probability in [0, 1], got ${p}`)
  if (p === 0) return Number.NEGATIVE_INFINITY
  if (p === 1) return Number.POSITIVE_INFINITY
  const q = p - 0.5
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q
    return (q * poly(A, r)) / poly(B, r)
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p))
  let x: number
  if (r <= 5) {
    r -= 1.6
    x = poly(C, r) / poly(D, r)
  } else {
    r -= 5
    x = poly(E, r) / poly(F, r)
  }
  return q < 0 ? -x : x
}

const SQRT_PI = Math.sqrt(Math.PI)

/**
 * erfc(x) for x ≥ 0, with about 15 significant digits (also in the far tail).
 * x < 2: erf from the series 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)) (all terms positive,
 * so no cancellation); x ≥ 2: the continued fraction e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
 * evaluated with the modified Lentz method.
 */
const erfcPositive = (x: number): number => {
  if (x < 2) {
    let term = x
    let sum = x
    for (let n = 0; n < 200; n++) {
      term *= (2 * x * x) / (2 * n + 3)
      sum += term
      if (term < sum * 1e-17) break
    }
    return 1 - (2 / SQRT_PI) * Math.exp(-x * x) * sum
  }
  // K = x + a1/(x + a2/(x + …)) with a_k = k/2.
  const tiny = 1e-300
  let f = x
  let c = x
  let d = 0
  for (let k = 1; k < 500; k++) {
    const a = k / 2
    d = x + a * d
    d = d === 0 ? tiny : d
    c = x + a / c
    c = c === 0 ? tiny : c
    d = 1 / d
    const delta = c * d
    f *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return Math.exp(-x * x) / SQRT_PI / f
}

/** Standard normal CDF Φ(z). normalCdf(1.96) = 0.9750021048517795. Accurate in both tails. */
export const normalCdf = (z: number): number => {
  if (Number.isNaN(z)) throw new RangeError('z must be a number, got NaN')
  if (z === Number.POSITIVE_INFINITY) return 1
  if (z === Number.NEGATIVE_INFINITY) return 0
  const x = Math.abs(z) / Math.SQRT2
  const tail = 0.5 * erfcPositive(x)
  return z < 0 ? tail : 1 - tail
}

/** Two-sided p-value of a standard normal statistic: 2 · Φ(−|z|). */
const twoSidedP = (z: number): number => Math.min(1, 2 * normalCdf(-Math.abs(z)))

// ---------------------------------------------------------------------------------------------
// Validation

const checkConfidence = (confidence: number, name = 'confidence'): number => {
  if (!(confidence > 0 && confidence < 1)) {
    throw new RangeError(`${name} must be in (0, 1), got ${confidence}`)
  }
  // Two-sided critical value: 0.95 → Φ⁻¹(0.975).
  return normalQuantile(1 - (1 - confidence) / 2)
}

const checkCount = (value: number, name: string): void => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`)
  }
}

const checkCounts = (successes: number, trials: number, name: string): void => {
  checkCount(successes, `${name}successes`)
  checkCount(trials, `${name}trials`)
  if (successes > trials) {
    throw new RangeError(`${name}successes (${successes}) must not exceed ${name}trials (${trials})`)
  }
}

const clamp = (value: number, lower: number, upper: number): number => Math.min(upper, Math.max(lower, value))

// ---------------------------------------------------------------------------------------------
// Proportions

/**
 * Wilson score interval for a binomial proportion:
 * (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
 * Zero trials give `{ estimate: null, lower: 0, upper: 1 }` (nothing is known).
 */
export const wilsonInterval = (successes: number, trials: number, confidence = 0.95): ProportionInterval => {
  checkCounts(successes, trials, '')
  const z = checkConfidence(confidence)
  if (trials === 0) return { estimate: null, lower: 0, upper: 1 }
  const n = trials
  const p = successes / n
  const z2 = z * z
  const denominator = 1 + z2 / n
  const centre = (p + z2 / (2 * n)) / denominator
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator
  return {
    estimate: p,
    // The bounds are exactly 0 and 1 at the extremes; avoid rounding leaving 1e-17 or 0.9999999999999999.
    lower: successes === 0 ? 0 : clamp(centre - half, 0, 1),
    upper: successes === trials ? 1 : clamp(centre + half, 0, 1),
  }
}

/**
 * Two-sided two-proportion z-test of B against A. `z` uses the pooled standard error (the null
 * hypothesis pA = pB); when it is 0 (both arms all failures or all successes) the arms are
 * identical: z = 0 and pValue = 1. `standardError` is the unpooled one, reported as is.
 *
 * The interval for d = pB − pA is Newcombe's hybrid score interval (Newcombe 1998, "Interval
 * estimation for the difference between independent proportions", method 10): with (lA, uA) and
 * (lB, uB) the Wilson intervals of the arms at the same confidence,
 *
 *   lower = d − √((pB − lB)² + (uA − pA)²),   upper = d + √((uB − pB)² + (pA − lA)²),
 *
 * clamped to [-1, 1]. Unlike the Wald interval d ± z·SE, it does not collapse when an arm has 0 or
 * all successes (a zero SE there), and it does not exclude 0 in small or lopsided arms where the
 * test finds no difference (the two are distinct procedures and can still differ at the margin).
 * Zero trials in an arm throw a RangeError naming it (`a.trials` or `b.trials`).
 */
export const twoProportionTest = (a: Counts, b: Counts, confidence = 0.95): TwoProportionTest => {
  checkCounts(a.successes, a.trials, 'a.')
  checkCounts(b.successes, b.trials, 'b.')
  if (a.trials === 0) throw new RangeError('a.trials must be positive: arm A has no trials')
  if (b.trials === 0) throw new RangeError('b.trials must be positive: arm B has no trials')
  checkConfidence(confidence)
  const pA = a.successes / a.trials
  const pB = b.successes / b.trials
  const difference = pB - pA
  const standardError = Math.sqrt((pA * (1 - pA)) / a.trials + (pB * (1 - pB)) / b.trials)
  const pooled = (a.successes + b.successes) / (a.trials + b.trials)
  const pooledError = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials))
  const z = pooledError === 0 ? 0 : difference / pooledError
  const wilsonA = wilsonInterval(a.successes, a.trials, confidence)
  const wilsonB = wilsonInterval(b.successes, b.trials, confidence)
  return {
    pA,
    pB,
    difference,
    standardError,
    z,
    pValue: twoSidedP(z),
    interval: {
      lower: clamp(difference - Math.hypot(pB - wilsonB.lower, wilsonA.upper - pA), -1, 1),
      upper: clamp(difference + Math.hypot(wilsonB.upper - pB, pA - wilsonA.lower), -1, 1),
    },
  }
}

/**
 * Observations per arm for a two-sided two-proportion z-test with equal arms
 * (Fleiss; the formula behind G*Power and Evan Miller's calculator):
 *
 *   n = ( z₁₋α/₂ · √(2 p̄ (1 − p̄)) + z₁₋β · √(p₁(1 − p₁) + p₂(1 − p₂)) )² / δ²
 *
 * with p₁ = baseline, p₂ = baseline + δ, p̄ = (p₁ + p₂)/2; rounded up. The first term is the
 * variance under H0 (pooled), the second under H1 (unpooled).
 */
export const sampleSizePerArm = (input: SampleSizeInput): number => {
  const { baseline, minimumDetectableEffect: delta, alpha = 0.05, power = 0.8 } = input
  if (!(baseline > 0 && baseline < 1)) throw new RangeError(`baseline must be in (0, 1), got ${baseline}`)
  const p2 = baseline + delta
  if (!Number.isFinite(delta) || delta === 0 || p2 < 0 || p2 > 1) {
    throw new RangeError(
      `minimumDetectableEffect must be non-zero with baseline + effect in [0, 1], got ${delta} (baseline ${baseline})`,
    )
  }
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`)
  if (!(power > 0 && power < 1)) throw new RangeError(`power must be in (0, 1), got ${power}`)
  const zAlpha = normalQuantile(1 - alpha / 2)
  const zBeta = normalQuantile(power)
  const mean = (baseline + p2) / 2
  const root =
    zAlpha * Math.sqrt(2 * mean * (1 - mean)) + zBeta * Math.sqrt(baseline * (1 - baseline) + p2 * (1 - p2))
  const n = (root * root) / (delta * delta)
  // A value that is an integer up to rounding error (e.g. 400.00000000000006) is not rounded up past it.
  return Math.ceil(n - 1e-9 * n)
}

/**
 * Observations still needed per arm: max(0, required − current). With unequal arms pass the
 * smaller arm's count.
 */
export const remainingSampleSize = (currentPerArm: number, requiredPerArm: number): number => {
  checkCount(currentPerArm, 'currentPerArm')
  checkCount(requiredPerArm, 'requiredPerArm')
  return Math.max(0, requiredPerArm - currentPerArm)
}

// ---------------------------------------------------------------------------------------------
// Means

const meanOf = (values: readonly number[]): number => {
  let sum = 0
  for (const v of values) sum += v
  return sum / values.length
}

/** Sample variance (n − 1), two-pass for accuracy. */
const varianceOf = (values: readonly number[], mean: number): number => {
  let sum = 0
  for (const v of values) sum += (v - mean) * (v - mean)
  return sum / (values.length - 1)
}

const checkSample = (values: readonly number[], name: string): void => {
  if (values.length < 2) throw new RangeError(`${name} must have at least 2 values, got ${values.length}`)
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) throw new RangeError(`${name}[${i}] must be a finite number, got ${v}`)
  })
}

/**
 * Difference of means meanB − meanA with Welch's (unequal-variance) standard error and the
 * normal approximation (z instead of Student's t): sound for large samples (≳ 30 per arm),
 * somewhat too narrow for small ones. Each sample needs at least 2 values. When both samples
 * are constant the standard error is 0: z is 0 (equal means) or ±Infinity.
 */
export const differenceOfMeans = (
  a: readonly number[],
  b: readonly number[],
  confidence = 0.95,
): MeanDifference => {
  checkSample(a, 'a')
  checkSample(b, 'b')
  const zc = checkConfidence(confidence)
  const meanA = meanOf(a)
  const meanB = meanOf(b)
  const difference = meanB - meanA
  const standardError = Math.sqrt(varianceOf(a, meanA) / a.length + varianceOf(b, meanB) / b.length)
  const z =
    standardError === 0
      ? difference === 0
        ? 0
        : Math.sign(difference) * Number.POSITIVE_INFINITY
      : difference / standardError
  return {
    meanA,
    meanB,
    difference,
    standardError,
    z,
    pValue: twoSidedP(z),
    interval: { lower: difference - zc * standardError, upper: difference + zc * standardError },
  }
}

// ---------------------------------------------------------------------------------------------
// Survey scores

const checkScores = (scores: readonly number[], min: number, max: number): void => {
  scores.forEach((s, i) => {
    if (!Number.isInteger(s) || s < min || s > max) {
      throw new RangeError(`scores[${i}] must be an integer from ${min} to ${max}, got ${s}`)
    }
  })
}

/**
 * CSAT as the top-two-box share: responses of 4 or 5 on a 1–5 scale, as a fraction with its
 * Wilson interval. No responses give a null estimate and [0, 1].
 */
export const csatTopTwoBox = (scores: readonly number[], confidence = 0.95): CsatScore => {
  checkScores(scores, 1, 5)
  const satisfied = scores.filter((s) => s >= 4).length
  return { responses: scores.length, satisfied, ...wilsonInterval(satisfied, scores.length, confidence) }
}

/**
 * Net Promoter Score on a 0–10 scale: promoters 9–10, passives 7–8, detractors 0–6;
 * score = 100 · (P − D)/n. Its variance follows from the multinomial:
 * Var(p̂P − p̂D) = (pP + pD − (pP − pD)²)/n, giving a Wald interval (in points, clamped to
 * [-100, 100]; it collapses to a point when every response is in one group).
 */
export const netPromoterScore = (scores: readonly number[], confidence = 0.95): NetPromoterScore => {
  checkScores(scores, 0, 10)
  const z = checkConfidence(confidence)
  const n = scores.length
  const promoters = scores.filter((s) => s >= 9).length
  const detractors = scores.filter((s) => s <= 6).length
  const passives = n - promoters - detractors
  if (n === 0) {
    return {
      responses: 0,
      promoters,
      passives,
      detractors,
      score: null,
      standardError: null,
      lower: -100,
      upper: 100,
    }
  }
  const pP = promoters / n
  const pD = detractors / n
  const nps = pP - pD
  const se = Math.sqrt(Math.max(0, pP + pD - nps * nps) / n)
  return {
    responses: n,
    promoters,
    passives,
    detractors,
    score: 100 * nps,
    standardError: 100 * se,
    lower: 100 * clamp(nps - z * se, -1, 1),
    upper: 100 * clamp(nps + z * se, -1, 1),
  }
}

/**
 * Customer Effort Score: the mean of 1–7 responses (higher = easier), with a normal-approximation
 * interval from the sample standard deviation (clamped to [1, 7]; null below 2 responses).
 */
export const customerEffortScore = (scores: readonly number[], confidence = 0.95): CustomerEffortScore => {
  checkScores(scores, 1, 7)
  const z = checkConfidence(confidence)
  const n = scores.length
  if (n === 0) return { responses: 0, mean: null, standardDeviation: null, interval: null }
  const mean = meanOf(scores)
  if (n === 1) return { responses: 1, mean, standardDeviation: null, interval: null }
  const standardDeviation = Math.sqrt(varianceOf(scores, mean))
  const half = (z * standardDeviation) / Math.sqrt(n)
  return {
    responses: n,
    mean,
    standardDeviation,
    interval: { lower: clamp(mean - half, 1, 7), upper: clamp(mean + half, 1, 7) },
  }
}
