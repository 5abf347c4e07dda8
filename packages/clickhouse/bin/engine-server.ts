// DEVELOPMENT AID: serves the embedded ClickHouse engine's data directory over ClickHouse's HTTP
// interface, so services started as separate processes can share one database
// (CLICKHOUSE_URL=http://127.0.0.1:8123) on a machine without a ClickHouse server. Not a
// ClickHouse server: no users, TLS or compression; loopback only unless --host says otherwise.
// See docs/deployment.md ("Separate processes without a ClickHouse server").
//
//   node packages/clickhouse/bin/engine-server.ts [--path .data/engine] [--port 8123] [--host 127.0.0.1]
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { startEngineHttpServer } from '../src/engine-http-server.ts'

const { values } = parseArgs({
  options: {
    path: { type: 'string', default: '.data/engine' },
    port: { type: 'string', default: '8123' },
    host: { type: 'string', default: '127.0.0.1' },
  },
})
const dataPath = path.resolve(values.path)
const port = Number(values.port)
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`--port: expected a TCP port, got ${JSON.stringify(values.port)}\n`)
  process.exit(2)
}
await mkdir(dataPath, { recursive: true })
const engine = await startEngineHttpServer({ path: dataPath, port, host: values.host })
process.stdout.write(
  `engine-server: ${dataPath} on ${engine.url} (development aid, not a ClickHouse server)\n`,
)
let stopping = false
const stop = async (signal: string) => {
  if (stopping) return
  stopping = true
  process.stdout.write(`engine-server: ${signal}, ${engine.requests()} requests answered, closing\n`)
  await engine.close()
  process.exit(0)
}
process.on('SIGTERM', () => void stop('SIGTERM'))
process.on('SIGINT', () => void stop('SIGINT'))
