import {
  type Counts,
  type CsatScore,
  type CustomerEffortScore,
  csatTopTwoBox,
  customerEffortScore,
  differenceOfMeans,
  type Interval,
  type NetPromoterScore,
  netPromoterScore,
  normalCdf,
  normalQuantile,
  type ProportionInterval,
  remainingSampleSize,
  sampleSizePerArm,
  twoProportionTest,
  wilsonInterval,
} from './stats.ts'

// The analyses the product reports beyond the CPI values (docs/analytics.md), from counts that
// ClickHouse aggregates: pure, so every figure is checked without the engine.

/** A difference between two groups with its interval and two-sided p-value. */
export interface Difference {
  difference: number
  interval: Interval
  z: number
  pValue: number
}

const differenceOf = (test: { difference: number; interval: Interval; z: number; pValue: number }) => ({
  difference: test.difference,
  interval: test.interval,
  z: test.z,
  pValue: test.pValue,
})

// ---------------------------------------------------------------------------------------------
// Perception vs performance

/** What ClickHouse counts per CPI and group (met / missed the expectation). */
export interface SurveyCounts {
  /** Interactions with a known outcome in the group. */
  interactions: number
  /** Of those, interactions with a survey response. */
  responded: number
  /** Responses per CSAT score 1..5 (index 0 = score 1). */
  csat: readonly number[]
  /** Responses per NPS score 0..10 (index = score). */
  nps: readonly number[]
  /** Responses per CES score 1..7 (index 0 = score 1). */
  ces: readonly number[]
}

export interface GroupPerception {
  interactions: number
  responses: number
  /** Share of the group's interactions that got a survey response (Wilson interval). */
  responseRate: ProportionInterval
  csat: CsatScore
  nps: NetPromoterScore
  ces: CustomerEffortScore
}

export interface PerceptionGap {
  met: GroupPerception
  missed: GroupPerception
  /**
   * met − missed for each score; null where a group has too few responses to compare (CSAT:
   * none; NPS and CES: fewer than MIN_RESPONSES_FOR_GAP).
   */
  gap: {
    /** CSAT top-two-box share, met − missed (fraction). */
    csat: Difference | null
    /** NPS points, met − missed. */
    nps: Difference | null
    /** CES mean, met − missed. */
    ces: Difference | null
  }
  /**
   * Response rate, met − missed. A significant difference means respondents are not
   * representative of the two groups alike: read the score gap with that in mind.
   */
  responseRateGap: Difference | null
}

/** Expands a histogram (count per score, the first index being score `first`) into scores. */
export const scoresOf = (histogram: readonly number[], first: number): number[] => {
  const scores: number[] = []
  histogram.forEach((count, index) => {
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`histogram[${index}] must be a count, got ${count}`)
    for (let i = 0; i < count; i++) scores.push(first + index)
  })
  return scores
}

const groupPerception = (counts: SurveyCounts, confidence: number): GroupPerception => ({
  interactions: counts.interactions,
  responses: counts.responded,
  responseRate: wilsonInterval(counts.responded, counts.interactions, confidence),
  csat: csatTopTwoBox(scoresOf(counts.csat, 1), confidence),
  nps: netPromoterScore(scoresOf(counts.nps, 0), confidence),
  ces: customerEffortScore(scoresOf(counts.ces, 1), confidence),
})

/**
 * Responses a group needs before its NPS or CES is compared: their intervals rest on a sample
 * standard deviation, which with a handful of responses (all alike: zero) claims certainty it
 * does not have. The CSAT gap has no such floor: its interval (Newcombe's hybrid score interval,
 * built from the Wilson intervals) stays honest at any size.
 */
export const MIN_RESPONSES_FOR_GAP = 10

/**
 * Perceived scores of interactions that met the expectation vs those that missed it. The CSAT
 * gap is a two-proportion comparison; the NPS gap uses the multinomial standard errors of both
 * scores; the CES gap is Welch's difference of means.
 */
export function perceptionGap(met: SurveyCounts, missed: SurveyCounts, confidence = 0.95): PerceptionGap {
  const z = normalQuantile(1 - (1 - confidence) / 2)
  const m = groupPerception(met, confidence)
  const x = groupPerception(missed, confidence)
  const csat =
    m.csat.responses > 0 && x.csat.responses > 0
      ? differenceOf(
          twoProportionTest(
            { successes: x.csat.satisfied, trials: x.csat.responses },
            { successes: m.csat.satisfied, trials: m.csat.responses },
            confidence,
          ),
        )
      : null
  let nps: Difference | null = null
  if (
    m.nps.responses >= MIN_RESPONSES_FOR_GAP &&
    x.nps.responses >= MIN_RESPONSES_FOR_GAP &&
    m.nps.score !== null &&
    x.nps.score !== null &&
    m.nps.standardError !== null &&
    x.nps.standardError !== null
  ) {
    const difference = m.nps.score - x.nps.score
    const se = Math.hypot(m.nps.standardError, x.nps.standardError)
    const statistic =
      se === 0 ? (difference === 0 ? 0 : Math.sign(difference) * Number.POSITIVE_INFINITY) : difference / se
    nps = {
      difference,
      interval: { lower: Math.max(-200, difference - z * se), upper: Math.min(200, difference + z * se) },
      z: statistic,
      pValue: Math.min(1, 2 * normalCdf(-Math.abs(statistic))),
    }
  }
  const ces =
    m.ces.responses >= MIN_RESPONSES_FOR_GAP && x.ces.responses >= MIN_RESPONSES_FOR_GAP
      ? differenceOf(differenceOfMeans(scoresOf(missed.ces, 1), scoresOf(met.ces, 1), confidence))
      : null
  const responseRateGap =
    met.interactions > 0 && missed.interactions > 0
      ? differenceOf(
          twoProportionTest(
            { successes: missed.responded, trials: missed.interactions },
            { successes: met.responded, trials: met.interactions },
            confidence,
          ),
        )
      : null
  return { met: m, missed: x, gap: { csat, nps, ces }, responseRateGap }
}

// ---------------------------------------------------------------------------------------------
// CPI → KPI linkage

export interface LinkGroupCounts extends Counts {
  group: string
  /** Interactions whose KPI follow-up window has fully passed (the others may still convert). */
  followUpComplete?: number
}

export interface LinkGroup {
  group: string
  trials: number
  successes: number
  followUpComplete: number | null
  /** The KPI rate with its Wilson interval. */
  rate: ProportionInterval
}

export interface Linkage {
  groups: LinkGroup[]
  /** Each other group against the reference group: rate(group) − rate(reference). */
  comparisons: (Difference & { group: string; versus: string })[]
}

/**
 * A KPI rate per CPI group (outcome or latency bucket), each with its Wilson interval, and each
 * group compared with the reference group (the first one unless named). Groups without trials
 * are kept (a rate of null) and left out of the comparisons.
 */
export function linkage(groups: readonly LinkGroupCounts[], reference?: string, confidence = 0.95): Linkage {
  const base = groups.find((group) => group.group === (reference ?? groups[0]?.group))
  return {
    groups: groups.map((group) => ({
      group: group.group,
      trials: group.trials,
      successes: group.successes,
      followUpComplete: group.followUpComplete ?? null,
      rate: wilsonInterval(group.successes, group.trials, confidence),
    })),
    comparisons:
      base && base.trials > 0
        ? groups
            .filter((group) => group !== base && group.trials > 0)
            .map((group) => ({
              group: group.group,
              versus: base.group,
              ...differenceOf(twoProportionTest(base, group, confidence)),
            }))
        : [],
  }
}

// ---------------------------------------------------------------------------------------------
// Experiments

export interface ArmCounts {
  variant: string
  cpi: Counts
  /** The linked KPI in the same population; null when the CPI has no linked KPI. */
  kpi: Counts | null
  /**
   * The arm's outcomes in cohort order, one character each ('1' success, '0' not): with them,
   * the decision at the horizon is taken on exactly the first `requiredPerArm` of each arm, so
   * data that comes later never re-tests it.
   */
  sequence?: { cpi: string; kpi: string | null }
}

export interface ExperimentDesign {
  /** Two-sided significance level. */
  alpha: number
  power: number
  /** Absolute change of the rate the experiment is sized to detect. */
  minimumDetectableEffect: number
  /**
   * The control's rate the sample size is planned from, per metric, fixed before the start.
   * Without it the control's observed rate is used, and the horizon moves with it.
   */
  baselines?: { cpi?: number; kpi?: number }
}

export interface MetricComparison extends Difference {
  metric: 'cpi' | 'kpi'
  variant: string
  versus: string
  /** Observations per arm for the design's power at the control's rate; null when it cannot be sized. */
  requiredPerArm: number | null
  /** Still needed in the smaller of the two arms. */
  remainingPerArm: number | null
  /** Both arms reached the planned sample size: only now may the p-value decide. */
  horizonReached: boolean
  /** The planned sample size came from the design's baseline (true) or the control's observed rate. */
  plannedFromBaseline: boolean
  /**
   * The test on exactly the first `requiredPerArm` interactions of each arm (cohort order), once
   * both arms have them and the arms' sequences are known: what the decision rests on.
   */
  atHorizon: (Difference & { perArm: number; a: Counts; b: Counts }) | null
  /**
   * `collecting` until the horizon; then `significant` (p < alpha at the horizon) or
   * `not_significant`. A significant p-value before the horizon is not a result, and data after
   * it does not change the decision (fixed-horizon design).
   */
  decision: 'collecting' | 'significant' | 'not_significant'
}

export interface ExperimentArm {
  variant: string
  cpi: Counts & { rate: ProportionInterval }
  kpi: (Counts & { rate: ProportionInterval }) | null
}

export interface ExperimentAnalysis {
  control: string
  design: ExperimentDesign
  arms: ExperimentArm[]
  comparisons: MetricComparison[]
}

const countOnes = (sequence: string): number => {
  let ones = 0
  for (const character of sequence) if (character === '1') ones++
  return ones
}

/** The control arm: `control`, `A` or `a` when present, else the first variant in sort order. */
export const controlOf = (variants: readonly string[]): string => {
  for (const name of ['control', 'A', 'a']) if (variants.includes(name)) return name
  return [...variants].sort()[0] ?? ''
}

/** Sample size per arm to detect `mde` from `baseline` (upwards, or downwards when up is impossible). */
const requiredFor = (baseline: number, design: ExperimentDesign): number | null => {
  if (!(baseline > 0 && baseline < 1)) return null
  const effect =
    baseline + design.minimumDetectableEffect <= 1
      ? design.minimumDetectableEffect
      : -design.minimumDetectableEffect
  if (baseline + effect < 0) return null
  return sampleSizePerArm({
    baseline,
    minimumDetectableEffect: effect,
    alpha: design.alpha,
    power: design.power,
  })
}

/**
 * Each arm's CPI and KPI with Wilson intervals, and every other arm against the control: the
 * difference, its interval, the two-proportion z-test, the sample size per arm the design needs
 * and what is still missing. Decisions follow the fixed horizon: none before it.
 */
export function analyzeExperiment(
  arms: readonly ArmCounts[],
  design: Partial<ExperimentDesign> = {},
): ExperimentAnalysis {
  const full: ExperimentDesign = {
    alpha: design.alpha ?? 0.05,
    power: design.power ?? 0.8,
    minimumDetectableEffect: design.minimumDetectableEffect ?? 0.02,
  }
  if (design.baselines) full.baselines = design.baselines
  for (const [metric, value] of Object.entries(design.baselines ?? {}))
    if (!(value > 0 && value < 1)) throw new RangeError(`baselines.${metric} must be in (0, 1), got ${value}`)
  if (!(full.minimumDetectableEffect > 0 && full.minimumDetectableEffect < 1))
    throw new RangeError(`minimumDetectableEffect must be in (0, 1), got ${full.minimumDetectableEffect}`)
  const confidence = 1 - full.alpha
  const control = controlOf(arms.map((arm) => arm.variant))
  const base = arms.find((arm) => arm.variant === control)
  const comparisons: MetricComparison[] = []
  if (base) {
    for (const arm of arms) {
      if (arm === base) continue
      for (const metric of ['cpi', 'kpi'] as const) {
        const a = base[metric]
        const b = arm[metric]
        if (!a || !b || a.trials === 0 || b.trials === 0) continue
        const test = twoProportionTest(a, b, confidence)
        const planned = full.baselines?.[metric]
        const requiredPerArm = requiredFor(planned ?? test.pA, full)
        const smaller = Math.min(a.trials, b.trials)
        const horizonReached = requiredPerArm !== null && smaller >= requiredPerArm
        const sequenceA = base.sequence?.[metric]
        const sequenceB = arm.sequence?.[metric]
        let atHorizon: MetricComparison['atHorizon'] = null
        if (horizonReached && requiredPerArm !== null && sequenceA && sequenceB) {
          const first = (sequence: string): Counts => ({
            successes: countOnes(sequence.slice(0, requiredPerArm)),
            trials: Math.min(requiredPerArm, sequence.length),
          })
          const frozenA = first(sequenceA)
          const frozenB = first(sequenceB)
          atHorizon = {
            perArm: requiredPerArm,
            a: frozenA,
            b: frozenB,
            ...differenceOf(twoProportionTest(frozenA, frozenB, confidence)),
          }
        }
        const decisive = atHorizon ?? test
        comparisons.push({
          metric,
          variant: arm.variant,
          versus: control,
          ...differenceOf(test),
          requiredPerArm,
          remainingPerArm: requiredPerArm === null ? null : remainingSampleSize(smaller, requiredPerArm),
          horizonReached,
          plannedFromBaseline: planned !== undefined && requiredPerArm !== null,
          atHorizon,
          decision: !horizonReached
            ? 'collecting'
            : decisive.pValue < full.alpha
              ? 'significant'
              : 'not_significant',
        })
      }
    }
  }
  const withRate = (counts: Counts) => ({
    ...counts,
    rate: wilsonInterval(counts.successes, counts.trials, confidence),
  })
  return {
    control,
    design: full,
    arms: arms.map((arm) => ({
      variant: arm.variant,
      cpi: withRate(arm.cpi),
      kpi: arm.kpi ? withRate(arm.kpi) : null,
    })),
    comparisons,
  }
}

// ---------------------------------------------------------------------------------------------
// The shared customer index

export interface IndexComponentInput {
  cpi: string
  weight: number
  good: number
  total: number
  target: number
}

export interface CustomerIndex {
  /** 0–100: the weighted mean of the CPI ratios with data, weights renormalized over them. */
  value: number | null
  /** Wald interval from the binomial variances of the components (0–100). */
  lower: number | null
  upper: number | null
  /** The same weighted mean of the targets: the index the objectives promise. */
  target: number | null
  /** Share of the total weight whose CPI had data. */
  coverage: number
  components: {
    cpi: string
    weight: number
    /** The weight as a share of the weights with data (0 without data). */
    share: number
    ratio: number | null
    total: number
    /** Points this CPI adds to the index: share × ratio × 100. */
    contribution: number
  }[]
}

/**
 * One customer index every team shares: Σ wᵢ·pᵢ / Σ wᵢ over the CPIs with known outcomes, with
 * Var = Σ (wᵢ/W)² pᵢ(1 − pᵢ)/nᵢ (the CPIs' interactions are independent samples).
 */
export function customerIndex(components: readonly IndexComponentInput[], confidence = 0.95): CustomerIndex {
  for (const component of components) {
    if (!(component.weight >= 0))
      throw new RangeError(`${component.cpi}.weight must be ≥ 0, got ${component.weight}`)
  }
  const totalWeight = components.reduce((sum, c) => sum + c.weight, 0)
  const present = components.filter((c) => c.total > 0 && c.weight > 0)
  const weight = present.reduce((sum, c) => sum + c.weight, 0)
  const z = normalQuantile(1 - (1 - confidence) / 2)
  let value: number | null = null
  let lower: number | null = null
  let upper: number | null = null
  let target: number | null = null
  if (weight > 0) {
    let mean = 0
    let variance = 0
    let promised = 0
    for (const c of present) {
      const share = c.weight / weight
      const p = c.good / c.total
      mean += share * p
      variance += (share * share * p * (1 - p)) / c.total
      promised += share * c.target
    }
    const half = z * Math.sqrt(variance)
    value = 100 * mean
    lower = 100 * Math.max(0, mean - half)
    upper = 100 * Math.min(1, mean + half)
    target = 100 * promised
  }
  return {
    value,
    lower,
    upper,
    target,
    coverage: totalWeight > 0 ? weight / totalWeight : 0,
    components: components.map((c) => {
      const share = c.total > 0 && weight > 0 ? c.weight / weight : 0
      const ratio = c.total > 0 ? c.good / c.total : null
      return {
        cpi: c.cpi,
        weight: c.weight,
        share,
        ratio,
        total: c.total,
        contribution: ratio === null ? 0 : 100 * share * ratio,
      }
    }),
  }
}
