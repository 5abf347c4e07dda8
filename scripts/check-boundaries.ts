// Dependencies point inward: services → packages → schemas, never back, never sideways
// between services. The all-in-one process is the one composition root allowed to wire
// other services together. And the code cites nothing outside the repository: principles and
// rules are defined in docs/architecture.md and docs/cpi-catalog.md. Run by `npm test`; exits 1
// naming every import and citation that breaks either.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

const root = path.resolve(import.meta.dirname, '..')
type Layer = 'schemas' | 'packages' | 'services'

function layerOf(workspacePath: string): { layer: Layer; name: string } | undefined {
  const [top, name] = workspacePath.split(path.sep)
  if (top === 'schemas') return { layer: 'schemas', name: 'schemas' }
  if ((top === 'packages' || top === 'services') && name) return { layer: top, name }
  return undefined
}

const packageDirs = new Map<string, string>() // @cpi/name → workspace folder
for (const top of ['packages', 'services']) {
  for (const entry of readdirSync(path.join(root, top))) {
    const manifest = path.join(root, top, entry, 'package.json')
    try {
      packageDirs.set(JSON.parse(readFileSync(manifest, 'utf8')).name, path.join(top, entry))
    } catch {
      // a folder without package.json is not a workspace package
    }
  }
}
packageDirs.set('@cpi/schemas', 'schemas')

function* sourceFiles(directory: string): Generator<string> {
  for (const entry of readdirSync(directory)) {
    if (entry === 'node_modules') continue
    const full = path.join(directory, entry)
    if (statSync(full).isDirectory()) yield* sourceFiles(full)
    else if (/\.(ts|mts|js|mjs|sql|sh)$/.test(entry)) yield full
  }
}

const allowed = (from: { layer: Layer; name: string }, to: { layer: Layer; name: string }): boolean => {
  if (from.layer === to.layer && from.name === to.name) return true
  if (from.layer === 'schemas') return false
  if (from.layer === 'packages') return to.layer !== 'services'
  return to.layer !== 'services' || from.name === 'all-in-one'
}

/**
 * Documents that live beside the repository, not in it, and the tracker's issue numbers: code
 * must not send a reader there.
 */
const OUTSIDE_CITATION =
  /\.\.\/shared\b|CPI-CATALOG(?:\.md)?|ARCHITECTURE(?:\.md)?\b|STYLE\.md|\b[Ii]ssue \d+/g

const violations: string[] = []
const importPattern = /(?:from\s+|import\s*\(\s*)['"]([^'"]+)['"]/g
for (const top of ['schemas', 'packages', 'services', 'test', 'bench', 'scripts', 'infra']) {
  for (const file of sourceFiles(path.join(root, top))) {
    const relative = path.relative(root, file)
    if (relative === path.join('scripts', 'check-boundaries.ts')) continue
    // An applied migration is never edited (its checksum is checked): its comments stay as written.
    if (relative.startsWith(path.join('schemas', 'clickhouse', 'migrations'))) continue
    const text = readFileSync(file, 'utf8')
    for (const cited of text.matchAll(OUTSIDE_CITATION))
      violations.push(`${relative}: cites ${cited[0]}, outside the repository (say it, or cite docs/)`)
    if (!/\.(ts|mts|js|mjs)$/.test(file)) continue
    const from = layerOf(relative)
    if (!from) continue
    for (const match of text.matchAll(importPattern)) {
      const specifier = match[1] ?? ''
      let target: string | undefined
      if (specifier.startsWith('@cpi/')) target = packageDirs.get(specifier.split('/').slice(0, 2).join('/'))
      else if (specifier.startsWith('.'))
        target = path.relative(root, path.resolve(path.dirname(file), specifier))
      if (!target) continue
      const to = layerOf(target)
      if (to && !allowed(from, to))
        violations.push(`${relative}: imports ${specifier} (${to.layer}/${to.name})`)
    }
  }
}

if (violations.length > 0) {
  console.error(`dependency boundaries or citations broken:\n  ${violations.join('\n  ')}`)
  process.exit(1)
}
process.stdout.write(`dependency boundaries hold (${packageDirs.size} workspace packages)\n`)
