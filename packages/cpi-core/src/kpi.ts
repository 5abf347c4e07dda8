import { readFileSync } from 'node:fs'
import { eventTypes, formatPath } from '@cpi/schemas'
import { z } from 'zod'
import { CatalogError } from './catalog.ts'
import type { CpiDefinition } from './definition.ts'
import { durationSchema } from './duration.ts'

// The business KPIs followed after the CPIs' interactions (a quote accepted, a repeat order,
// churn) and the links that report one KPI per group of one CPI's outcomes (docs/analytics.md).
// Like the CPIs they are data (catalog/kpis.json): which KPI a view reports, and for which CPI,
// is decided here, not in a route, and so is how a KPI is counted (its rule: which events, how
// long after) and how a link groups the interactions; the ClickHouse adapter
// (packages/clickhouse/src/tables/analytics.ts) turns rules and groupings into queries.

const snakeName = z.string().regex(/^[a-z][a-z0-9_]{1,62}$/, {
  error: (issue) => `a snake_case name, e.g. quote_acceptance, got ${JSON.stringify(issue.input)}`,
})

/** The interaction domains: the type prefixes of the v1 event types (`quote` of `quote.requested`). */
const domains = [...new Set(eventTypes.map((type) => type.split('.')[0] ?? type))]

const interactionDomain = z.enum(domains as [string, ...string[]], {
  error: (issue) =>
    `one of the interaction domains (${domains.join(', ')}), got ${JSON.stringify(issue.input)}`,
})

const eventType = z.enum(eventTypes as [string, ...string[]], {
  error: (issue) => `one of the v1 event types, got ${JSON.stringify(issue.input)}`,
})

/**
 * How a KPI is counted after an interaction, as of the watermark: a KPI `event` within `within`
 * of the interaction's reference time (the first of the `after` event types it has, in that
 * order of preference), of the same interaction or of the same customer (the customer id of its
 * `customerFrom` event). Interactions with an `endedBy` event are reported apart (a declined quote
 * cannot be accepted).
 */
export const kpiRuleSchema = z
  .strictObject({
    after: z.array(eventType).min(1),
    event: eventType,
    match: z.enum(['interaction', 'customer']),
    customerFrom: eventType.optional(),
    within: durationSchema,
    endedBy: z.array(eventType).default([]),
  })
  .refine((rule) => rule.match === 'interaction' || rule.customerFrom !== undefined, {
    error: 'a rule matching by customer names the event that carries the customer id (customerFrom)',
    path: ['customerFrom'],
  })
  // The customer's KPI events are not the interaction's: nothing of theirs can take it out.
  .refine((rule) => rule.match === 'interaction' || rule.endedBy.length === 0, {
    error: 'endedBy applies to a rule matching by interaction (an event of the interaction takes it out)',
    path: ['endedBy'],
  })

/** How a link groups a CPI's interactions: by outcome, or by latency buckets. */
export const linkGroupingSchema = z.union([
  z.strictObject({ outcome: z.strictObject({ good: z.string().min(1), bad: z.string().min(1) }) }),
  z.strictObject({
    latency: z.strictObject({
      /** Upper bounds, ascending, each with its group's label; above the last: `over`. */
      buckets: z
        .array(z.strictObject({ upTo: durationSchema, label: z.string().min(1) }))
        .min(1)
        .refine(
          (buckets) =>
            buckets.every((bucket, index) => index === 0 || bucket.upTo > (buckets[index - 1]?.upTo ?? 0)),
          {
            error: 'bucket bounds in ascending order (the first that holds an interaction takes it)',
          },
        ),
      over: z.string().min(1),
      /** Interactions never answered (still open at their deadline). */
      never: z.string().min(1),
    }),
  }),
])

export const kpiDefinitionSchema = z.strictObject({
  /** Its id in the API (the name of a link), e.g. quote_acceptance. */
  name: snakeName,
  /** The interactions it is followed after: those of the CPIs whose start event has this prefix. */
  domain: interactionDomain,
  /** Short, beside a CPI of its domain in an experiment: "repeat order within 90 days". */
  displayName: z.string().min(1),
  /** With its reference time, on a link: "repeat order within 90 days after the delivery". */
  description: z.string().min(1),
  /** Acceptance and repeat orders should rise, churn should fall. */
  higherIsBetter: z.boolean(),
  /** How it is counted. */
  rule: kpiRuleSchema,
})

export const kpiLinkSchema = z.strictObject({
  /** The CPI whose outcomes group the interactions. */
  cpi: snakeName,
  /** The KPI reported per group: a name of the catalog's `kpis`, of the CPI's domain. */
  kpi: snakeName,
  /** What the groups are, in words. */
  groupedBy: z.string().min(1),
  /** The groups, in display order; each is compared with the first. */
  groups: z.array(z.string().min(1)).min(2),
  /** How the CPI's interactions fall into the groups. */
  grouping: linkGroupingSchema,
})

export const kpiCatalogSchema = z.strictObject({
  kpis: z.array(kpiDefinitionSchema),
  links: z.array(kpiLinkSchema).default([]),
})

export type KpiDefinition = z.infer<typeof kpiDefinitionSchema>
export type KpiLink = z.infer<typeof kpiLinkSchema>
export type KpiCatalog = z.infer<typeof kpiCatalogSchema>

/** A link with its KPI's definition in place of the name. */
export interface ResolvedKpiLink {
  cpi: string
  kpi: KpiDefinition
  groupedBy: string
  groups: readonly string[]
  grouping: KpiLink['grouping']
}

export const builtinKpiFile = new URL('../catalog/kpis.json', import.meta.url)

/** The names given more than once in `names`. */
const repeated = (names: readonly string[]) => [
  ...new Set(names.filter((name, index) => names.indexOf(name) !== index)),
]

/** The group labels a grouping gives interactions. */
function groupingLabels(grouping: KpiLink['grouping']): string[] {
  if ('outcome' in grouping) return [grouping.outcome.good, grouping.outcome.bad]
  const { buckets, over, never } = grouping.latency
  return [...buckets.map((bucket) => bucket.label), over, never]
}

/** What is wrong between the entries of a well-formed KPI catalog: repeats and links to no KPI. */
function crossProblems(catalog: KpiCatalog, source: string): string[] {
  const problems = [
    ...repeated(catalog.kpis.map((kpi) => kpi.name)).map((name) => `${source} kpi ${name}: defined twice`),
    // An interaction has one KPI: the one its domain's rule counts.
    ...repeated(catalog.kpis.map((kpi) => kpi.domain)).map(
      (domain) => `${source} kpis: more than one KPI of the domain ${domain}`,
    ),
    ...repeated(catalog.links.map((link) => link.cpi)).map((cpi) => `${source} link ${cpi}: defined twice`),
  ]
  const names = new Set(catalog.kpis.map((kpi) => kpi.name))
  for (const link of catalog.links) {
    if (!names.has(link.kpi))
      problems.push(
        `${source} link ${link.cpi}: kpi: no KPI named ${link.kpi} (kpis: ${[...names].join(', ') || 'none'})`,
      )
    for (const group of repeated(link.groups))
      problems.push(`${source} link ${link.cpi}: groups: ${group} listed twice`)
    for (const label of groupingLabels(link.grouping))
      if (!link.groups.includes(label))
        problems.push(
          `${source} link ${link.cpi}: grouping: ${label} is not one of the groups (${link.groups.join(', ')})`,
        )
  }
  return problems
}

/**
 * Validates a KPI catalog (plain data: `{ "kpis": [...], "links": [...] }`); every problem names
 * the entry, the field and what is wrong. Refuses a name or a link given twice, two KPIs of one
 * domain and a link to a KPI the catalog lacks.
 */
export function parseKpiCatalog(input: unknown, source = 'KPI catalog'): KpiCatalog {
  const result = kpiCatalogSchema.safeParse(input)
  if (!result.success)
    throw new CatalogError(
      result.error.issues.map(
        (issue) => `${source}: ${formatPath(issue.path) || '(catalog)'}: ${issue.message}`,
      ),
    )
  const problems = crossProblems(result.data, source)
  if (problems.length > 0) throw new CatalogError(problems)
  return result.data
}

let builtin: KpiCatalog | undefined

/** The built-in KPIs and links (catalog/kpis.json), read and validated on the first call. */
export function builtinKpiCatalog(): KpiCatalog {
  if (!builtin) {
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(builtinKpiFile, 'utf8'))
    } catch (error) {
      throw new CatalogError([
        `${String(builtinKpiFile)}: expected JSON, got ${error instanceof Error ? error.message : String(error)}`,
      ])
    }
    builtin = parseKpiCatalog(parsed, String(builtinKpiFile))
  }
  return builtin
}

/** The interaction domain of a CPI: the type prefix of its start event (`quote`); null for a survey CPI. */
export function domainOf(definition: CpiDefinition): string | null {
  if (definition.shape === 'survey') return null
  return definition.start.type.split('.')[0] ?? null
}

/** The KPI followed after a CPI's interactions: its domain's, if the catalog has one. */
export function kpiOf(catalog: KpiCatalog, definition: CpiDefinition): KpiDefinition | undefined {
  const domain = domainOf(definition)
  return domain === null ? undefined : catalog.kpis.find((kpi) => kpi.domain === domain)
}

/**
 * The links whose CPI is among `cpis`, in the catalog's order, each with its KPI. A link between
 * a CPI and a KPI of another domain (a survey CPI, a CPI redefined on other events) is refused:
 * its interactions are not the ones the KPI is followed after.
 */
export function linksOf(catalog: KpiCatalog, cpis: readonly CpiDefinition[]): ResolvedKpiLink[] {
  const byName = new Map(cpis.map((definition) => [definition.name, definition]))
  const problems: string[] = []
  const links: ResolvedKpiLink[] = []
  for (const link of catalog.links) {
    const definition = byName.get(link.cpi)
    const kpi = catalog.kpis.find((candidate) => candidate.name === link.kpi)
    if (!definition || !kpi) continue
    const domain = domainOf(definition)
    if (domain !== kpi.domain) {
      problems.push(
        `link ${link.cpi}: kpi: ${kpi.name} follows ${kpi.domain} interactions, the CPI's are ${domain ?? 'survey responses'}`,
      )
      continue
    }
    links.push({
      cpi: link.cpi,
      kpi,
      groupedBy: link.groupedBy,
      groups: link.groups,
      grouping: link.grouping,
    })
  }
  if (problems.length > 0) throw new CatalogError(problems)
  return links
}
