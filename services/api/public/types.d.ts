// Types for the dashboard's JSDoc (`tsc -p services/api/public`): the parts of the API's JSON the
// page reads, and the shapes of its own helpers. Never served: the API serves only the files
// services/api/src/dashboard.routes.ts lists. The server's types are the source of truth (the
// routes in services/api/src, @cpi/analytics); these are their JSON form (times as ISO strings),
// kept to the fields the dashboard reads.

// ---------- the page's helpers ----------

/** Tags `h` creates in the SVG namespace (common.js SVG_TAGS). */
export type SvgTag = 'svg' | 'path' | 'line' | 'rect' | 'circle' | 'g' | 'text' | 'title'

/** The element `h(tag)` returns. */
export type ElementOf<K extends string> = K extends SvgTag
  ? SVGElementTagNameMap[K]
  : K extends keyof HTMLElementTagNameMap
    ? HTMLElementTagNameMap[K]
    : HTMLElement

/** `h`'s attributes: `text` is the text content, `on…` a listener, null/undefined/false leave it out. */
export type Attributes = Record<
  string,
  string | number | boolean | null | undefined | ((event: Event) => void)
>

/** `h`'s children: null, undefined and false leave a child out. */
export type Child = Node | string | null | undefined | false

// ---------- the CPIs, alerts and freshness (live view) ----------

export type Health = 'ok' | 'at_risk' | 'breached' | 'no_data'

/** One window of a CPI (@cpi/clickhouse CpiPoint). */
export interface CpiPoint {
  windowStart: string
  good: number
  total: number
  pending: number
  ratio: number | null
  p50: number | null
  p90: number | null
  p99: number | null
  status: 'provisional' | 'final'
}

export interface SparklinePoint {
  windowStart?: string
  ratio: number | null
}

/** A CPI as the catalog endpoint and the stream's `cpi` events give it (summaries.ts CpiSummary). */
export interface CpiSummary {
  name: string
  displayName: string
  description: string
  owner: string
  dimensions: string[]
  objective: { target: number; window: string }
  leadingIndicators: string[]
  laggingIndicators: string[]
  indexWeight: number
  current: CpiPoint | null
  previous: CpiPoint | null
  trend: number | null
  health: Health
  firingAlerts: number
  sparkline: SparklinePoint[]
}

/** `GET /v1/cpis`. */
export interface CatalogResponse {
  asOf: string
  window: string
  cpis: CpiSummary[]
}

export type AlertState = 'pending' | 'firing' | 'resolved'

/** An alert as `GET /v1/alerts` and the stream's `alert` events give it (live.ts AlertView). */
export interface AlertView {
  fingerprint: string
  /** Besides these, a rule's own: `topic` and `partition` of pipeline_stalled. */
  labels: {
    alertname: string
    /** Empty for pipeline_stalled, which is about no CPI. */
    cpi: string
    dimension: string
    segment: string
    severity: 'page' | 'ticket'
    rule: 'burn_rate' | 'baseline_drop' | 'no_data' | 'about_to_breach' | 'pipeline_stalled'
    [label: string]: string
  }
  annotations: {
    summary: string
    description: string
    runbook: string
    dashboard: string
    [annotation: string]: string
  }
  state: AlertState
  activeSince: string
  firedAt: string | null
  resolvedAt: string | null
  value: number
  threshold: number
  silenced: boolean
  silencedBy: string[]
}

/** `GET /v1/alerts`. */
export interface AlertsResponse {
  alerts: AlertView[]
}

/** `GET /v1/freshness` and the stream's `freshness` events (live.ts Freshness). */
export interface Freshness {
  now: string
  watermark: string | null
  alertingWatermark: string | null
  freshnessMs: number | null
  stalled: { topic: string; partition: number; watermark: string; since: string }[]
  consumerLag: number | null
  beyondHorizon: { events: number; latestAt: string | null }
}

/** The stream's `snapshot` event; the fallback polling builds the same. */
export interface Snapshot {
  cpis?: CpiSummary[]
  alerts?: AlertView[]
  freshness?: Freshness
}

/** `GET /v1/cpis/{name}`: one series per segment (one, `all`, without `by`). */
export interface SeriesResponse {
  cpi: string
  from: string
  to: string
  step: string | null
  by: string | null
  target: number
  series: { segment: string; points: CpiPoint[] }[]
}

/** `GET /v1/breaching`. */
export interface BreachingResponse {
  within: string
  total: number
  interactions: {
    cpi: string
    subject: string
    startedAt: string
    deadline: string
    dueInMs: number
    segments: Record<string, string>
  }[]
  counts: { cpi: string; dimension: string; value: string; count: number }[]
}

/** `GET /v1/customers/{id}/value`. */
export interface CustomerValueResponse {
  customerId: string
  from: string | null
  to: string | null
  kind: 'savings' | 'usage' | 'outcome' | null
  credits: number
  firstCreditedAt: string | null
  lastCreditedAt: string | null
  totals: {
    kind: 'savings' | 'usage' | 'outcome'
    unit: string
    amount: number
    promised: number
    credits: number
    creditsWithPromise: number
    metPromise: number
    ratio: number | null
  }[]
  recent: {
    id: string
    source: string
    creditedAt: string
    kind: string
    amount: number
    unit: string
    promised: number | null
    period: string | null
  }[]
  nextCursor: string | null
}

// ---------- the analytics views ----------

export interface Interval {
  lower: number
  upper: number
}

/** A proportion with its Wilson interval; `estimate` is null without trials. */
export interface ProportionInterval extends Interval {
  estimate: number | null
}

/** A difference between two groups with its interval and two-sided p-value. */
export interface Difference {
  difference: number
  interval: Interval
  z: number
  pValue: number
}

/** `GET /v1/analytics/index`. */
export interface IndexResponse {
  asOf: string
  window: string
  current: {
    value: number | null
    lower: number | null
    upper: number | null
    target: number | null
    coverage: number
    components: {
      cpi: string
      weight: number
      share: number
      ratio: number | null
      total: number
      contribution: number
    }[]
  }
  series: IndexWindow[]
}

export interface IndexWindow {
  windowStart: string
  value: number | null
  lower: number | null
  upper: number | null
  target: number | null
  coverage: number
}

/** A CPI named on a scorecard: its own or a leading or lagging indicator. */
export interface ScorecardBrief {
  name: string
  displayName: string
  ratio: number | null
  target: number | null
  health: Health
}

export interface ScorecardCpi extends ScorecardBrief {
  good: number
  total: number
  pending: number
  trend: number | null
  firingAlerts: number
  indexWeight: number
  indexPoints: number
  leading: ScorecardBrief[]
  lagging: ScorecardBrief[]
}

/** `GET /v1/analytics/scorecards`. */
export interface ScorecardsResponse {
  asOf: string
  window: string
  index: { value: number | null; lower: number | null; upper: number | null; target: number | null }
  teams: {
    team: string
    cpis: ScorecardCpi[]
    health: Record<Health, number>
    indexPoints: number
  }[]
}

export interface GroupPerception {
  interactions: number
  responses: number
  responseRate: ProportionInterval
  csat: ProportionInterval & { responses: number; satisfied: number }
  nps: { responses: number; score: number | null; lower: number; upper: number }
  ces: { responses: number; mean: number | null; interval: Interval | null }
}

export interface PerceptionEntry {
  cpi: string
  displayName: string
  subjectType: string
  met: GroupPerception
  missed: GroupPerception
  gap: { csat: Difference | null; nps: Difference | null; ces: Difference | null }
  responseRateGap: Difference | null
}

/** `GET /v1/analytics/perception`. */
export interface PerceptionResponse {
  from: string
  to: string
  note: string
  cpis: PerceptionEntry[]
}

export interface Link {
  name: string
  cpi: string
  kpi: string
  groupedBy: string
  higherIsBetter: boolean
  groups: {
    group: string
    trials: number
    successes: number
    followUpComplete: number | null
    rate: ProportionInterval
  }[]
  comparisons: (Difference & { group: string; versus: string })[]
}

/** `GET /v1/analytics/linkage`. */
export interface LinkageResponse {
  from: string
  to: string
  note: string
  links: Link[]
}

export interface ExperimentDesign {
  alpha: number
  power: number
  minimumDetectableEffect: number
}

export interface ArmMetric {
  successes: number
  trials: number
  rate: ProportionInterval
}

export interface ExperimentArm {
  variant: string
  cpi: ArmMetric
  kpi: ArmMetric | null
}

export interface MetricComparison extends Difference {
  metric: 'cpi' | 'kpi'
  variant: string
  versus: string
  requiredPerArm: number | null
  remainingPerArm: number | null
  horizonReached: boolean
  plannedFromBaseline: boolean
  atHorizon: (Difference & { perArm: number }) | null
  decision: 'collecting' | 'significant' | 'not_significant'
}

/** One CPI of an experiment: its arms and each arm against the control. */
export interface ExperimentCpi {
  cpi: string
  displayName: string
  kpi: string | null
  control: string
  design: ExperimentDesign
  arms: ExperimentArm[]
  comparisons: MetricComparison[]
}

/** `GET /v1/analytics/experiments`. */
export interface ExperimentsResponse {
  from: string
  to: string
  design: ExperimentDesign & { rule: string }
  experiments: {
    id: string
    designSource: 'registered' | 'request'
    description: string | null
    conflictingAssignments: number
    cpis: ExperimentCpi[]
  }[]
}
