import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatPath } from '@cpi/schemas'
import {
  CalendarError,
  type CalendarVersion,
  compileCalendar,
  composeCalendarVersions,
  parseIcsHolidays,
} from './calendar.ts'
import { bindCalendars } from './decide.ts'
import { type CpiDefinition, cpiDefinitionSchema } from './definition.ts'

/** A catalog that failed validation; the message names each CPI, field and problem. */
export class CatalogError extends Error {
  readonly problems: string[]

  constructor(problems: string[]) {
    super(`invalid CPI catalog:\n  ${problems.join('\n  ')}`)
    this.name = 'CatalogError'
    this.problems = problems
  }
}

export const builtinCatalogFile = new URL('../catalog/builtin.json', import.meta.url)

/** What a catalog file holds: CPI definitions, alone or with the business-hours calendars they name. */
interface CatalogParts {
  calendars: unknown[]
  cpis: unknown[]
}

/** The parts of a catalog document: a JSON array of CPI definitions, or `{ "calendars": [...], "cpis": [...] }`. */
function catalogParts(input: unknown, source: string): CatalogParts {
  if (Array.isArray(input)) return { calendars: [], cpis: input }
  if (input && typeof input === 'object' && !Array.isArray(input)) {
    const { calendars = [], cpis = [], ...rest } = input as Record<string, unknown>
    const problems = Object.keys(rest).map(
      (key) => `${source}: ${key}: not a catalog field (calendars, cpis)`,
    )
    if (!Array.isArray(calendars)) problems.push(`${source}: calendars: expected an array of calendars`)
    if (!Array.isArray(cpis)) problems.push(`${source}: cpis: expected an array of CPI definitions`)
    if (problems.length > 0) throw new CatalogError(problems)
    return { calendars: calendars as unknown[], cpis: cpis as unknown[] }
  }
  throw new CatalogError([
    `${source}: expected a JSON array of CPI definitions, or an object with "calendars" and "cpis"`,
  ])
}

/** An RFC 3339 instant with its zone (`2026-12-01T00:00:00Z`, `…+01:00`), as ms; undefined otherwise. */
const instant = (value: unknown): number | undefined => {
  if (
    typeof value !== 'string' ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)
  )
    return undefined
  const ms = Date.parse(value)
  return Number.isFinite(ms) ? ms : undefined
}

/**
 * Compiles the calendars; each problem names the calendar, the field and what is wrong. A name
 * given several times with different `since` instants is one calendar edited over time: each
 * version applies from its `since` (the first, without one, before them all).
 */
function compileCalendars(items: readonly unknown[], source: string, problems: string[]) {
  const versions = new Map<string, CalendarVersion[]>()
  for (const [index, item] of items.entries()) {
    const name = typeof item === 'object' && item && 'name' in item ? String(item.name) : `#${index}`
    if (typeof item === 'object' && item && 'holidaysFromIcs' in item) {
      problems.push(`${source} calendar ${name}: holidaysFromIcs: read only from catalog files (loadCatalog)`)
      continue
    }
    const { since: sinceText, ...definition } = (item ?? {}) as Record<string, unknown>
    const since = sinceText === undefined ? Number.NEGATIVE_INFINITY : instant(sinceText)
    if (since === undefined) {
      problems.push(
        `${source} calendar ${name}: since: expected an RFC 3339 instant such as 2026-12-01T00:00:00Z, got ${JSON.stringify(sinceText)}`,
      )
      continue
    }
    try {
      const calendar = compileCalendar(definition as never)
      const known = versions.get(calendar.name) ?? []
      if (known.some((version) => version.since === since))
        problems.push(
          `${source} calendar ${calendar.name}: defined twice${sinceText === undefined ? '' : ` since ${String(sinceText)}`}`,
        )
      versions.set(calendar.name, [...known, { since, calendar }])
    } catch (error) {
      if (!(error instanceof CalendarError)) throw error
      for (const problem of error.problems) problems.push(`${source} calendar ${name}: ${problem}`)
    }
  }
  return new Map([...versions].map(([name, list]) => [name, composeCalendarVersions(list)]))
}

/** The calendar names a definition's expectation refers to, each with its field path. */
function calendarReferences(definition: CpiDefinition): [string, string][] {
  if (definition.shape !== 'latency' || definition.expectation.calendar === undefined) return []
  const choice = definition.expectation.calendar
  if (typeof choice === 'string') return [['expectation.calendar', choice]]
  return [
    ...Object.entries(choice.calendars).map(([value, name]): [string, string] => [
      `expectation.calendar.calendars.${value}`,
      name,
    ]),
    ...(choice.otherwise ? [['expectation.calendar.otherwise', choice.otherwise] as [string, string]] : []),
  ]
}

/**
 * Validates definitions (plain data: an array, or `{ calendars, cpis }`) into a catalog; refuses
 * duplicates and broken references (a CPI naming a calendar the catalog lacks); a higher version
 * replaces a lower one.
 */
export function parseCatalog(input: unknown, source = 'catalog'): CpiDefinition[] {
  const parts = catalogParts(input, source)
  const problems: string[] = []
  const calendars = compileCalendars(parts.calendars, source, problems)
  const definitions: CpiDefinition[] = []
  for (const [index, item] of parts.cpis.entries()) {
    const name = typeof item === 'object' && item && 'name' in item ? String(item.name) : `#${index}`
    const result = cpiDefinitionSchema.safeParse(item)
    if (!result.success) {
      for (const issue of result.error.issues)
        problems.push(`${source} ${name}: ${formatPath(issue.path) || '(definition)'}: ${issue.message}`)
      continue
    }
    definitions.push(result.data)
  }
  // A later definition with a higher version replaces an earlier one (a changed built-in);
  // the same name at the same version twice is a mistake.
  const byName = new Map<string, CpiDefinition>()
  for (const definition of definitions) {
    const earlier = byName.get(definition.name)
    if (earlier && earlier.version === definition.version) {
      problems.push(`${source} ${definition.name}: defined twice at version ${definition.version}`)
    }
    if (!earlier || definition.version > earlier.version) byName.set(definition.name, definition)
  }
  for (const definition of byName.values()) {
    const references = calendarReferences(definition)
    for (const [field, calendar] of references) {
      if (!calendars.has(calendar))
        problems.push(
          `${source} ${definition.name}: ${field}: no calendar named ${calendar} (calendars: ${[...calendars.keys()].join(', ') || 'none'})`,
        )
    }
    if (references.length > 0 && definition.shape === 'latency') {
      bindCalendars(definition, calendars)
      // A calendar that cannot give the time allowed (closed for good, or nearly) is refused here
      // rather than found out deciding interactions.
      const allowed = [
        definition.expectation.within,
        ...definition.expectation.rules.map((rule) => rule.within),
      ]
      for (const [field, name] of references) {
        const calendar = calendars.get(name)
        if (!calendar) continue
        for (const ms of allowed) {
          if (ms === undefined) continue
          try {
            calendar.addBusinessTime(Date.UTC(2026, 0, 5), ms)
          } catch {
            problems.push(
              `${source} ${definition.name}: ${field}: calendar ${name} does not give ${ms} ms of working time within ten years`,
            )
            break
          }
        }
      }
    }
  }
  const names = new Set(byName.keys())
  for (const definition of byName.values()) {
    for (const leading of definition.leadingIndicators) {
      if (!names.has(leading))
        problems.push(`${source} ${definition.name}: leadingIndicators: no CPI named ${leading}`)
    }
  }
  if (problems.length > 0) throw new CatalogError(problems)
  return [...byName.values()]
}

/**
 * Reads and validates catalog files; later files add CPIs or replace one with a higher version,
 * and add calendars. A calendar's `holidaysFromIcs` names an iCalendar file (relative to its
 * catalog file) whose all-day events are added to its holidays.
 */
export async function loadCatalog(
  files: readonly (string | URL)[] = [builtinCatalogFile],
): Promise<CpiDefinition[]> {
  const all: CatalogParts = { calendars: [], cpis: [] }
  for (const file of files) {
    const text = await readFile(file, 'utf8')
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (error) {
      throw new CatalogError([
        `${String(file)}: expected JSON, got ${error instanceof Error ? error.message : String(error)}`,
      ])
    }
    const parts = catalogParts(parsed, String(file))
    all.cpis.push(...parts.cpis)
    for (const calendar of parts.calendars) all.calendars.push(await withIcsHolidays(calendar, file))
  }
  return parseCatalog(all, files.length === 1 ? String(files[0]) : 'catalog')
}

/** A calendar with the holidays of its `holidaysFromIcs` file added (and that field removed). */
async function withIcsHolidays(calendar: unknown, catalogFile: string | URL): Promise<unknown> {
  if (!calendar || typeof calendar !== 'object' || !('holidaysFromIcs' in calendar)) return calendar
  const { holidaysFromIcs, ...rest } = calendar as Record<string, unknown>
  const name = 'name' in rest ? String(rest.name) : '(unnamed)'
  const where = `${String(catalogFile)} calendar ${name}: holidaysFromIcs`
  if (typeof holidaysFromIcs !== 'string' || holidaysFromIcs === '')
    throw new CatalogError([
      `${where}: expected the path of an iCalendar file, got ${JSON.stringify(holidaysFromIcs)}`,
    ])
  const base = catalogFile instanceof URL ? fileURLToPath(catalogFile) : catalogFile
  const icsFile = path.resolve(path.dirname(base), holidaysFromIcs)
  let text: string
  try {
    text = await readFile(icsFile, 'utf8')
  } catch (error) {
    throw new CatalogError([
      `${where}: cannot read ${icsFile}: ${error instanceof Error ? error.message : String(error)}`,
    ])
  }
  const ics = parseIcsHolidays(text)
  if (ics.errors.length > 0)
    throw new CatalogError(
      ics.errors.map((problem) => `${where}: ${icsFile} line ${problem.line}: ${problem.message}`),
    )
  const listed = Array.isArray(rest.holidays) ? (rest.holidays as unknown[]) : []
  return { ...rest, holidays: [...new Set([...listed, ...ics.dates])] }
}
