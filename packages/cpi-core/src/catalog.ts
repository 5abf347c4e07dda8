import { readFile } from 'node:fs/promises'
import { formatPath } from '@cpi/schemas'
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

/** Validates definitions (plain data) into a catalog; refuses duplicates and broken references; a higher version replaces a lower one. */
export function parseCatalog(input: unknown, source = 'catalog'): CpiDefinition[] {
  if (!Array.isArray(input)) throw new CatalogError([`${source}: expected a JSON array of CPI definitions`])
  const problems: string[] = []
  const definitions: CpiDefinition[] = []
  for (const [index, item] of input.entries()) {
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

/** Reads and validates catalog files; later files add CPIs or replace one with a higher version. */
export async function loadCatalog(
  files: readonly (string | URL)[] = [builtinCatalogFile],
): Promise<CpiDefinition[]> {
  const all: unknown[] = []
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
    if (!Array.isArray(parsed))
      throw new CatalogError([`${String(file)}: expected a JSON array of CPI definitions`])
    all.push(...parsed)
  }
  return parseCatalog(all, files.length === 1 ? String(files[0]) : 'catalog')
}
