import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

// docs/architecture.md's diagram of stages and stores names folders and files of this
// repository: it must keep matching them as the code moves.

const root = path.resolve(import.meta.dirname, '..')
const doc = readFileSync(path.join(root, 'docs/architecture.md'), 'utf8')
const section = doc.slice(doc.indexOf('## Stages and stores'))
const diagram = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? ''

/** Every .ts file of the repository's source folders, by base name. */
function sourceFiles(directory: string, found = new Map<string, string[]>()): Map<string, string[]> {
  for (const entry of readdirSync(directory)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue
    const full = path.join(directory, entry)
    if (statSync(full).isDirectory()) sourceFiles(full, found)
    else if (entry.endsWith('.ts')) found.set(entry, [...(found.get(entry) ?? []), full])
  }
  return found
}

describe('the architecture diagram', () => {
  it('is there', () => {
    expect(diagram.split('\n').length).toBeGreaterThan(20)
  })

  it('names only folders and files that exist', () => {
    const files = new Map([
      ...sourceFiles(path.join(root, 'services')),
      ...sourceFiles(path.join(root, 'packages')),
    ])
    const named = [...diagram.matchAll(/(?:^|[\s(])((?:[\w-]+\/)*[\w.-]+\.ts)\b/gm)].map(
      (match) => match[1] ?? '',
    )
    expect(named.length).toBeGreaterThan(20)
    for (const file of named) {
      const base = path.basename(file)
      if (file.includes('*')) continue
      expect(files.has(base) || existsSync(path.join(root, file)), file).toBe(true)
    }
    for (const folder of diagram.matchAll(/\b((?:services|packages|infra)\/[\w-]+)/g)) {
      expect(existsSync(path.join(root, folder[1] ?? '')), folder[1]).toBe(true)
    }
  })

  it('names every service, every package and every stage of the processor and the alerter', () => {
    for (const top of ['services', 'packages']) {
      for (const name of readdirSync(path.join(root, top))) {
        if (statSync(path.join(root, top, name)).isDirectory())
          expect(diagram, `${top}/${name}`).toContain(`${top}/${name}`)
      }
    }
    for (const service of ['processor', 'alerter'])
      for (const stage of readdirSync(path.join(root, 'services', service, 'src')).filter((file) =>
        file.endsWith('-stage.ts'),
      ))
        expect(diagram, stage).toContain(stage)
  })
})
