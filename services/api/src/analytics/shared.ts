import { type CustomerIndex, customerIndex } from '@cpi/analytics'
import type { ClickHouse, CpiPoint, KpiCount, LinkGrouping } from '@cpi/clickhouse'
import {
  builtinKpiCatalog,
  type CpiDefinition,
  type KpiCatalog,
  type KpiDefinition,
  type KpiLink,
} from '@cpi/cpi-core'
import type { ExperimentDesignEntry } from '../experiment-designs.ts'
import type { LiveState } from '../live.ts'
import { createReadCache } from '../read-cache.ts'

// What the analytics views (one file each beside this one) share: their options, the context
// built from them once, and small helpers.

/** What `registerAnalyticsRoutes` takes. */
export interface AnalyticsOptions {
  clickhouse: ClickHouse
  catalog: readonly CpiDefinition[]
  live: LiveState
  /** The events topic: its watermarks are the "now" KPIs are counted at. */
  eventsTopic: string
  /** Designs registered before the experiments started, by experiment id. */
  designs?: ReadonlyMap<string, ExperimentDesignEntry>
  /** The KPIs and CPI → KPI links reported (default: the built-in ones, cpi-core's catalog/kpis.json). */
  kpis?: KpiCatalog
  /** Identical reads within this many ms share one computation (default 5000: analytics scan more). */
  shareReadsMs?: number
  now?: () => number
}

/** A KPI of the catalog, with its rule as the ClickHouse adapter takes it. */
export type CountedKpi = KpiDefinition & { count: KpiCount }

/** What every view reads from: the stores, the catalogs, the shared reads and the clock. */
export interface AnalyticsContext {
  clickhouse: ClickHouse
  catalog: readonly CpiDefinition[]
  byName: ReadonlyMap<string, CpiDefinition>
  live: LiveState
  topic: string
  designs: ReadonlyMap<string, ExperimentDesignEntry> | undefined
  kpis: KpiCatalog
  /** The KPI of each interaction domain that has one. */
  kpiOfDomain: ReadonlyMap<string, CountedKpi>
  shared: ReturnType<typeof createReadCache>
  now: () => number
}

/** A KPI with its rule as the adapter takes it (the window in ms). */
export function countedKpi(kpi: KpiDefinition): CountedKpi {
  const { within, ...rule } = kpi.rule
  return { ...kpi, count: { ...rule, withinMs: within } }
}

/** A link's grouping as the adapter takes it (bucket bounds in ms). */
export function linkGrouping(grouping: KpiLink['grouping']): LinkGrouping {
  if ('outcome' in grouping) return grouping
  const { buckets, over, never } = grouping.latency
  return {
    latency: {
      buckets: buckets.map((bucket) => ({ upToMs: bucket.upTo, label: bucket.label })),
      over,
      never,
    },
  }
}

/** The context of the views, from the options. */
export function analyticsContext(options: AnalyticsOptions): AnalyticsContext {
  const now = options.now ?? Date.now
  const kpis = options.kpis ?? builtinKpiCatalog()
  return {
    clickhouse: options.clickhouse,
    catalog: options.catalog,
    byName: new Map(options.catalog.map((definition) => [definition.name, definition])),
    live: options.live,
    topic: options.eventsTopic,
    designs: options.designs,
    kpis,
    kpiOfDomain: new Map(kpis.kpis.map((kpi) => [kpi.domain, countedKpi(kpi)])),
    shared: createReadCache({ ttlMs: options.shareReadsMs ?? 5000, now }),
    now,
  }
}

/** An instant (ms) as ISO 8601. */
export const iso = (ms: number) => new Date(ms).toISOString()

/** The query string of a request URL, `?` included (empty without one): the key of a shared read. */
export const queryOf = (url: string) => (url.includes('?') ? url.slice(url.indexOf('?')) : '')

/** The customer index of one window from the CPIs' points (good/total) and the catalog's weights. */
export function indexOf(
  catalog: readonly CpiDefinition[],
  point: (cpi: string) => CpiPoint | undefined,
): CustomerIndex {
  return customerIndex(
    catalog
      .filter((definition) => definition.indexWeight > 0)
      .map((definition) => ({
        cpi: definition.name,
        weight: definition.indexWeight,
        good: point(definition.name)?.good ?? 0,
        total: point(definition.name)?.total ?? 0,
        target: definition.objective.target,
      })),
  )
}
