import { z } from 'zod'
import type { CpiDefinition } from './definition.ts'

// OpenSLO v1 (openslo/v1) documents for the catalog's CPIs, and back. Each CPI becomes an `SLI`
// (a ratio of counters: good over total outcomes, as Prometheus queries over the API's
// `/v1/prometheus` exposition, so Sloth, Pyrra or any OpenSLO tool can compute it) and an `SLO`
// (its objective). The SLI's good metric source also carries the CPI's definition under
// `spec.cpiDefinition`: importing what was exported gives the same catalog entry back, with the
// SLO's target and window (edited there or not). A ratio SLO from another tool has no event
// rules; importing it is refused with what is missing. The shapes below are this repository's
// transcription of the v1 JSON Schema (header, metadata, name, duration shorthand, SLI and SLO
// specs): documents are checked against them both ways.

/** An OpenSLO name: lower-case letters, digits and `.`, `|`, `/`, `\`, `-` (no `_`). */
const openSloName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[a-z0-9][a-z0-9.|/\\-]*[a-z0-9]*$/, { error: 'an OpenSLO name: a-z, 0-9, and . | / \\ -' })

/** A duration shorthand: a positive integer and one of m h d w M Q Y. */
const durationShorthand = z
  .string()
  .regex(/^[1-9][0-9]*[mhdwMQY]$/, { error: 'a duration such as 28d or 4w' })

const labelValue = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9A-Z][a-z0-9A-Z._-]*[a-z0-9A-Z]*$/)

const metadata = z.object({
  name: openSloName,
  displayName: z.string().min(1).optional(),
  labels: z.record(z.string(), z.union([labelValue, z.array(labelValue)])).optional(),
  annotations: z.record(z.string().regex(/^(.{2,253}\/)?.{1,63}$/), labelValue).optional(),
})

const metricSource = z.object({
  metricSourceRef: openSloName.optional(),
  type: z.string().optional(),
  spec: z.record(z.string(), z.unknown()),
})
const metric = z.object({ metricSource })

const ratioMetric = z
  .object({ counter: z.boolean(), good: metric.optional(), bad: metric.optional(), total: metric })
  .refine((ratio) => (ratio.good === undefined) !== (ratio.bad === undefined), {
    error: 'a ratio metric has exactly one of good and bad',
  })

const sliSpec = z
  .object({
    description: z.string().max(1050).optional(),
    thresholdMetric: metric.optional(),
    ratioMetric: ratioMetric.optional(),
  })
  .refine((spec) => (spec.thresholdMetric === undefined) !== (spec.ratioMetric === undefined), {
    error: 'an SLI has exactly one of thresholdMetric and ratioMetric',
  })

/** An OpenSLO v1 SLI document. */
export const openSloSli = z.object({
  apiVersion: z.literal('openslo/v1'),
  kind: z.literal('SLI'),
  metadata,
  spec: sliSpec,
})

const timeWindow = z
  .object({
    duration: durationShorthand,
    isRolling: z.boolean().optional(),
    calendar: z
      .object({
        startTime: z
          .string()
          .regex(/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d$/),
        timeZone: z.string().regex(/[A-Z][a-zA-Z_]+\/[A-Z][a-zA-Z_]+/),
      })
      .optional(),
  })
  .refine((window) => window.isRolling === true || window.calendar !== undefined, {
    error: 'a time window that is not rolling needs a calendar (startTime, timeZone)',
  })

const objective = z.object({
  displayName: z.string().min(1).optional(),
  op: z.enum(['lte', 'gte', 'lt', 'gt']).optional(),
  value: z.number().optional(),
  target: z.number().min(0).lt(1),
  timeSliceTarget: z.number().gt(0).max(1).optional(),
  timeSliceWindow: z.union([durationShorthand, z.number().gt(0)]).optional(),
})

const sloSpec = z
  .object({
    description: z.string().max(1050).optional(),
    service: openSloName,
    indicator: z.object({ metadata, spec: sliSpec }).optional(),
    indicatorRef: openSloName.optional(),
    timeWindow: z.array(timeWindow).max(1).optional(),
    budgetingMethod: z.enum(['Occurrences', 'Timeslices']),
    objectives: z.array(objective),
    alertPolicies: z.array(openSloName).optional(),
  })
  .refine((spec) => (spec.indicator === undefined) !== (spec.indicatorRef === undefined), {
    error: 'an SLO has exactly one of indicator and indicatorRef',
  })
  .refine(
    (spec) =>
      spec.budgetingMethod !== 'Timeslices' ||
      spec.objectives.every(
        (item) => item.timeSliceTarget !== undefined && item.timeSliceWindow !== undefined,
      ),
    { error: 'Timeslices objectives need timeSliceTarget and timeSliceWindow' },
  )

/** An OpenSLO v1 SLO document. */
export const openSloSlo = z.object({
  apiVersion: z.literal('openslo/v1'),
  kind: z.literal('SLO'),
  metadata,
  spec: sloSpec,
})

export type OpenSloSli = z.infer<typeof openSloSli>
export type OpenSloSlo = z.infer<typeof openSloSlo>
export type OpenSloDocument = OpenSloSli | OpenSloSlo

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const

/** Milliseconds as the catalog writes a duration: the largest unit that divides it (`7d`, `90m`, `500ms`). */
export function durationText(ms: number): string {
  if (ms === 0) return '0s'
  for (const [unit, size] of Object.entries(UNIT_MS)) if (ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}

/** A parsed definition as a catalog file writes it (durations as text); parsing it gives it back. */
export function definitionInput(definition: CpiDefinition): Record<string, unknown> {
  const input = JSON.parse(JSON.stringify(definition)) as Record<string, unknown>
  input.objective = { ...definition.objective, window: durationText(definition.objective.window) }
  if (definition.shape === 'latency') {
    const { expectation } = definition
    input.expectation = {
      ...(input.expectation as object),
      ...(expectation.within === undefined ? {} : { within: durationText(expectation.within) }),
      rules: expectation.rules.map((rule) => ({ ...rule, within: durationText(rule.within) })),
    }
  }
  if (definition.shape === 'condition') {
    const { anchorWithin, excludeWithoutAnchorAfter: exclude } = definition
    if (anchorWithin !== undefined) input.anchorWithin = durationText(anchorWithin)
    if (exclude) input.excludeWithoutAnchorAfter = { ...exclude, plus: durationText(exclude.plus) }
    input.followUp = durationText(definition.followUp)
  }
  return input
}

/** A CPI's name as an OpenSLO name (`fast_quote` → `fast-quote`). */
export const openSloNameOf = (name: string): string => name.replaceAll('_', '-')

/** An OpenSLO name slug of free text (an owner): lower case, other characters as `-`. */
const slug = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'cpi'

/** An objective window as a duration shorthand (whole weeks, days, hours or minutes). */
function windowShorthand(ms: number, cpi: string): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`
  throw new Error(`${cpi}: objective.window of ${ms} ms is not whole minutes, which OpenSLO cannot write`)
}

/** The Prometheus query of one of a CPI's whole-CPI counters on `/v1/prometheus`. */
const counterQuery = (counter: string, cpi: string) =>
  `max(${counter}{cpi="${cpi}",dimension="all",value="all"})`

/**
 * A CPI as OpenSLO v1 documents: its SLI (good and total outcomes, counters) and its SLO (target
 * over its window, occurrences). Checked against the v1 shapes before they are returned.
 */
export function exportOpenSlo(definition: CpiDefinition): [OpenSloSli, OpenSloSlo] {
  const name = openSloNameOf(definition.name)
  const description = definition.description.slice(0, 1050)
  const sli = openSloSli.parse({
    apiVersion: 'openslo/v1',
    kind: 'SLI',
    metadata: {
      name: `${name}-sli`,
      displayName: `${definition.displayName}: good outcomes / known outcomes`,
    },
    spec: {
      description,
      ratioMetric: {
        counter: true,
        good: {
          metricSource: {
            type: 'Prometheus',
            spec: {
              query: counterQuery('cpi_outcomes_good_total', definition.name),
              cpiDefinition: definitionInput(definition),
            },
          },
        },
        total: {
          metricSource: {
            type: 'Prometheus',
            spec: { query: counterQuery('cpi_outcomes_total', definition.name) },
          },
        },
      },
    },
  })
  const slo = openSloSlo.parse({
    apiVersion: 'openslo/v1',
    kind: 'SLO',
    metadata: { name, displayName: definition.displayName },
    spec: {
      description,
      service: slug(definition.owner),
      indicatorRef: `${name}-sli`,
      timeWindow: [windowOf(definition)],
      budgetingMethod: 'Occurrences',
      objectives: [{ displayName: definition.displayName, target: definition.objective.target }],
    },
  })
  return [sli, slo]
}

/** The SLO's time window: rolling, or calendar windows counted from the start of 2026 in UTC. */
function windowOf(definition: CpiDefinition) {
  const duration = windowShorthand(definition.objective.window, definition.name)
  if (definition.objective.kind === 'rolling') return { duration, isRolling: true }
  return { duration, isRolling: false, calendar: { startTime: '2026-01-01 00:00:00', timeZone: 'Etc/UTC' } }
}

const SHORTHAND_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }

/** A duration shorthand as the catalog's duration text; months, quarters and years have no fixed length. */
function shorthandDuration(shorthand: string): string | undefined {
  const unit = shorthand.slice(-1)
  const size = SHORTHAND_MS[unit]
  return size === undefined ? undefined : durationText(Number(shorthand.slice(0, -1)) * size)
}

const issuesOf = (where: string, error: z.ZodError) =>
  error.issues.map((issue) => `${where}: ${issue.path.join('.') || '(document)'}: ${issue.message}`)

/** The documents by kind, each checked against its v1 shape; anything else is a problem named by position. */
function readDocuments(documents: readonly unknown[], problems: string[]) {
  const slis = new Map<string, OpenSloSli>()
  const slos: OpenSloSlo[] = []
  documents.forEach((document, index) => {
    const kind = (document as { kind?: unknown } | null)?.kind
    const where = `document ${index + 1} (${String(kind ?? 'no kind')})`
    const schema = kind === 'SLI' ? openSloSli : kind === 'SLO' ? openSloSlo : undefined
    if (!schema) {
      problems.push(`${where}: expected an OpenSLO v1 SLI or SLO, got kind ${JSON.stringify(kind ?? null)}`)
      return
    }
    const parsed = schema.safeParse(document)
    if (!parsed.success) problems.push(...issuesOf(where, parsed.error))
    else if (parsed.data.kind === 'SLI') slis.set(parsed.data.metadata.name, parsed.data)
    else slos.push(parsed.data)
  })
  return { slis, slos }
}

/** One SLO as a catalog definition (input form), or the problems that stop it. */
function definitionOfSlo(slo: OpenSloSlo, slis: ReadonlyMap<string, OpenSloSli>, problems: string[]) {
  const where = `SLO ${slo.metadata.name}`
  const indicator = slo.spec.indicator ?? slis.get(slo.spec.indicatorRef ?? '')
  if (!indicator) return void problems.push(`${where}: indicatorRef: no SLI named ${slo.spec.indicatorRef}`)
  const ratio = indicator.spec.ratioMetric
  if (!ratio) return void problems.push(`${where}: expected a ratio SLI, got a threshold metric`)
  const carried = ratio.good?.metricSource.spec.cpiDefinition
  if (!carried || typeof carried !== 'object')
    return void problems.push(
      `${where}: the good metric source's spec has no cpiDefinition: a ratio SLO of another tool has no event rules (a CPI needs its start and completion events); write it in the catalog (docs/cpi-catalog.md) and keep its target ${slo.spec.objectives[0]?.target ?? '?'}`,
    )
  const input = JSON.parse(JSON.stringify(carried)) as Record<string, unknown>
  const target = slo.spec.objectives[0]?.target
  if (target === undefined || target <= 0)
    return void problems.push(`${where}: objectives: expected one objective with a target above 0`)
  const window = slo.spec.timeWindow?.[0]
  const duration = window ? shorthandDuration(window.duration) : undefined
  if (window && !duration)
    return void problems.push(
      `${where}: timeWindow.0.duration: expected m, h, d or w, got ${window.duration}`,
    )
  input.objective = {
    ...(input.objective as object),
    target,
    ...(duration ? { window: duration, kind: window?.isRolling ? 'rolling' : 'calendar' } : {}),
  }
  return input
}

/**
 * OpenSLO v1 documents (SLIs and SLOs) back into catalog definitions (the input form a catalog
 * file holds): each SLO whose ratio SLI carries a CPI definition, with the SLO's target and
 * window. Throws an Error listing every problem (a document that is not valid OpenSLO v1 names
 * its field) — nothing is half imported.
 */
export function importOpenSlo(documents: readonly unknown[]): Record<string, unknown>[] {
  const problems: string[] = []
  const { slis, slos } = readDocuments(documents, problems)
  if (slos.length === 0 && problems.length === 0) problems.push('no SLO among the documents')
  const definitions = slos.flatMap((slo) => {
    const input = definitionOfSlo(slo, slis, problems)
    return input ? [input] : []
  })
  if (problems.length > 0) throw new Error(`OpenSLO import refused:\n  ${problems.join('\n  ')}`)
  return definitions
}
