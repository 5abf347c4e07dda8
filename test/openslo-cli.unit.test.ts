import { execFile } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { builtinCatalogFile, loadCatalog, parseCatalog } from '@cpi/cpi-core'
import { describe, expect, it } from 'vitest'

// `bin/cpi openslo` (packages/cpi-core/bin/openslo.ts) as a user runs it: export to a YAML file,
// import that file, and get the same catalog back.

const run = promisify(execFile)
const cli = path.resolve(import.meta.dirname, '../packages/cpi-core/bin/openslo.ts')

describe('bin/cpi openslo', () => {
  it('exports the catalog as OpenSLO YAML and imports it back to the same CPIs', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'openslo-'))
    const exported = await run(process.execPath, [cli, 'export'])
    expect(exported.stdout.match(/^kind: SLO$/gm)?.length).toBe(9)
    expect(exported.stdout.match(/^kind: SLI$/gm)?.length).toBe(9)
    const file = path.join(directory, 'cpis.yaml')
    await writeFile(file, exported.stdout)
    const imported = await run(process.execPath, [cli, 'import', file])
    expect(parseCatalog(JSON.parse(imported.stdout))).toEqual(await loadCatalog([builtinCatalogFile]))
  })

  it('exports the CPIs asked for, and names an unknown one', async () => {
    const one = await run(process.execPath, [cli, 'export', '--cpi', 'nothing_broke'])
    expect(one.stdout).toMatch(/^ {2}name: nothing-broke$/m)
    expect(one.stdout.match(/^kind: SLO$/gm)?.length).toBe(1)
    const unknown = await run(process.execPath, [cli, 'export', '--cpi', 'no_such_cpi']).catch(
      (error) => error,
    )
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('--cpi: no CPI named no_such_cpi in the catalog')
  })

  it('refuses a file that is not OpenSLO, naming the document and field, and writes nothing', async () => {
    const directory = await mkdtemp(path.join(tmpdir(), 'openslo-'))
    const file = path.join(directory, 'bad.yaml')
    await writeFile(file, 'apiVersion: openslo/v1\nkind: SLO\nmetadata:\n  name: Bad_Name\nspec: {}\n')
    const refused = await run(process.execPath, [cli, 'import', file]).catch((error) => error)
    expect(refused.code).toBe(1)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toContain('document 1 (SLO): metadata.name: an OpenSLO name')
    expect(refused.stderr).toContain('document 1 (SLO): spec.service:')
  })
})
