import { type CustomerIndex, customerIndex } from '@cpi/analytics'
import { type ClickHouse, type CpiPoint, type KpiDomain, kpiOfDomain } from '@cpi/clickhouse'
import { builtinKpiCatalog, type CpiDefinition, type KpiCatalog, type KpiDefinition } from '@cpi/cpi-core'
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

/** A KPI the ClickHouse adapter counts: its domain is one the adapter has a rule for. */
export type CountedKpi = KpiDefinition & { domain: KpiDomain }

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

/**
 * The KPI as the ClickHouse adapter counts it; throws (at start-up) for a KPI whose domain it
 * has no rule for, or whose rule counts a KPI of another name.
 */
export function countedKpi(kpi: KpiDefinition): CountedKpi {
  const counted = Object.entries(kpiOfDomain).find(([domain]) => domain === kpi.domain)
  if (!counted || counted[1] !== kpi.name)
    throw new Error(
      `KPI ${kpi.name} of ${kpi.domain} interactions: the ClickHouse adapter counts ${counted ? counted[1] : 'no KPI'} for that domain (packages/clickhouse/src/tables/analytics.ts)`,
    )
  return { ...kpi, domain: counted[0] as KpiDomain }
}

/** The context of the views, from the options; checks the KPIs against what the adapter counts. */
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
