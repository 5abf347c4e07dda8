// `bin/cpi openslo`: the catalog's CPIs as OpenSLO v1 documents, and back.
//
//   bin/cpi openslo export [--catalog FILE]... [--cpi NAME]...   YAML (SLI + SLO per CPI) on stdout
//   bin/cpi openslo import FILE...                                 catalog JSON ({"cpis": [...]}) on stdout
//
// Export reads the built-in catalog and the files given (as CPI_CATALOG_FILES would); import
// reads YAML or JSON files of OpenSLO documents (several per file, `---` between them) and
// writes what a catalog file holds. Problems go to stderr, naming the document and field; the
// exit status is then 1 and nothing is written.
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { parseAllDocuments, stringify } from 'yaml'
import { builtinCatalogFile, loadCatalog } from '../src/catalog.ts'
import { exportOpenSlo, importOpenSlo } from '../src/openslo.ts'

const [command, ...rest] = process.argv.slice(2)

/** The chosen CPIs as OpenSLO YAML, two documents each. */
async function exportCommand(args: string[]): Promise<string> {
  const { values } = parseArgs({
    args,
    options: { catalog: { type: 'string', multiple: true }, cpi: { type: 'string', multiple: true } },
  })
  const catalog = await loadCatalog([builtinCatalogFile, ...(values.catalog ?? [])])
  const wanted = values.cpi ?? []
  const unknown = wanted.filter((name) => !catalog.some((definition) => definition.name === name))
  if (unknown.length > 0) throw new Error(`--cpi: no CPI named ${unknown.join(', ')} in the catalog`)
  const chosen =
    wanted.length === 0 ? catalog : catalog.filter((definition) => wanted.includes(definition.name))
  return chosen
    .flatMap((definition) => exportOpenSlo(definition))
    .map((document) => stringify(document, { lineWidth: 0 }))
    .join('---\n')
}

/** OpenSLO files as a catalog file's JSON. */
async function importCommand(files: string[]): Promise<string> {
  if (files.length === 0) throw new Error('import: name one or more files of OpenSLO documents')
  const documents: unknown[] = []
  for (const file of files) {
    for (const document of parseAllDocuments(await readFile(file, 'utf8'))) {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]?.message}`)
      documents.push(document.toJS())
    }
  }
  return `${JSON.stringify({ cpis: importOpenSlo(documents) }, null, 2)}\n`
}

try {
  if (command === 'export') process.stdout.write(await exportCommand(rest))
  else if (command === 'import') process.stdout.write(await importCommand(rest))
  else {
    process.stderr.write(
      'usage: bin/cpi openslo export [--catalog FILE]... [--cpi NAME]... | import FILE...\n',
    )
    process.exitCode = 2
  }
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`)
  process.exitCode = 1
}
