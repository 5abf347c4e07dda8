// Writes the JSON Schema of every v1 event type (and of the whole CloudEvent union) under
// schemas/json/v1/, for producers in other languages. `--check` writes nothing and exits 1
// when a committed file differs from what the zod source gives (npm test runs it).
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { exampleEvents } from '../src/events/examples.ts'
import { cloudEventSchema, eventTypes, schemaFor } from '../src/index.ts'

const outputDir = path.resolve(import.meta.dirname, '../json/v1')
const check = process.argv.includes('--check')

function render(
  schema: z.ZodType,
  id: string,
  title: string,
  description: string,
  examples: unknown[],
): string {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' })
  return `${JSON.stringify({ $id: `urn:cpi-pipeline:schemas:v1:${id}`, title, description, ...json, examples }, null, 2)}\n`
}

const files = new Map<string, string>()
for (const type of eventTypes) {
  files.set(
    `${type}.schema.json`,
    render(
      schemaFor(type),
      `${type}.schema.json`,
      type,
      `A CloudEvents 1.0 event of type ${type} (structured JSON). Also checked, beyond this schema: time at most 5 minutes ahead of the receiver's clock; size, nesting and string-length limits.`,
      [exampleEvents[type]],
    ),
  )
}
files.set(
  'cloudevent.schema.json',
  render(
    cloudEventSchema,
    'cloudevent.schema.json',
    'CPI pipeline event, v1',
    'Any v1 event: a CloudEvents 1.0 envelope whose type selects the shape of data.',
    [],
  ),
)

if (check) {
  const stale: string[] = []
  for (const [name, content] of files) {
    const existing = await readFile(path.join(outputDir, name), 'utf8').catch(() => undefined)
    if (existing !== content) stale.push(name)
  }
  const extra = (await readdir(outputDir).catch(() => [] as string[])).filter((name) => !files.has(name))
  if (stale.length > 0 || extra.length > 0) {
    console.error(
      `schemas/json/v1 is out of date with the zod schemas (${[...stale, ...extra.map((name) => `${name} (no longer exported)`)].join(', ')}).\nRun: node schemas/scripts/export-json-schema.ts`,
    )
    process.exit(1)
  }
  process.stdout.write(`JSON Schema files match the zod source (${files.size} files)\n`)
} else {
  await mkdir(outputDir, { recursive: true })
  for (const [name, content] of files) await writeFile(path.join(outputDir, name), content)
  process.stdout.write(
    `wrote ${files.size} JSON Schema files to ${path.relative(process.cwd(), outputDir)}\n`,
  )
}
