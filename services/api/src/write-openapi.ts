import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { apiDocumentText, committedDocumentFile } from './openapi-document.ts'

// `npm run openapi`: writes docs/openapi.json from the routes' declarations. The unit test
// openapi.test.ts fails, showing the difference, while the committed file is not this output.

writeFileSync(committedDocumentFile, apiDocumentText())
process.stdout.write(`wrote ${fileURLToPath(committedDocumentFile)}\n`)
