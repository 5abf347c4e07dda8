// `cpi import FILE`: a historical import through the real gateway, broker, processor and
// engine. NDJSON and CSV files of last week's events give exactly the CPIs they describe, every
// rejected line is named with its file line and reason, and running the same import again
// changes nothing.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { type ClickHouse, countEvents } from '@cpi/clickhouse'
import { describe, expect } from 'vitest'
import { it } from './support/fixtures.ts'
import { startTestGateway, TEST_KEY } from './support/gateway.ts'
import { startTestProcessor } from './support/processor.ts'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '..')
const HOUR = 3_600_000

/** Runs the CLI as a user would; resolves with its exit code and output whatever the code. */
async function importFile(file: string, url: string, extra: string[] = []) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(root, 'services/ingest/src/import-cli.ts'), file, '--url', url, '--key', TEST_KEY, ...extra],
      { cwd: root },
    )
    return { code: 0, stdout, stderr }
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string }
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
  }
}

async function outcomes(clickhouse: ClickHouse, cpi: string) {
  const result = await clickhouse.reader.query({
    query: `SELECT subject, state FROM ${clickhouse.database}.outcomes FINAL WHERE cpi = {cpi:String} ORDER BY subject`,
    query_params: { cpi },
    format: 'JSONEachRow',
  })
  return (await result.json<{ subject: string; state: string }>()).map((row) => `${row.subject}:${row.state}`)
}

describe('cpi import (real gateway, broker, processor and engine)', () => {
  it('imports last week from NDJSON and CSV with progress, names each rejected line, and a re-run changes nothing', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const gateway = await startTestGateway(logger)
    const { processor, registry } = await startTestProcessor({ kafka, clickhouse, logger }, gateway.topics)
    const directory = await mkdtemp(path.join(tmpdir(), 'cpi-import-'))
    try {
      const weekAgo = Date.now() - 6 * 24 * HOUR
      const at = (hours: number, seconds = 0) =>
        new Date(weekAgo + hours * HOUR + seconds * 1000).toISOString()
      const quote = (subject: string, type: string, time: string, data: Record<string, unknown> = {}) =>
        JSON.stringify({
          specversion: '1.0',
          id: `${subject}-${type}`,
          source: '/quoting/web',
          type,
          time,
          subject,
          data,
        })
      // Quotes, six days old: Q-1 answered in 4 s (good), Q-2 in 50 s (bad), Q-3 never (bad);
      // line 7 is not JSON, line 8 has an unknown type. The answer comes before its request.
      const ndjson = [
        quote('Q-1', 'quote.issued', at(1, 4)),
        quote('Q-1', 'quote.requested', at(1), { customerId: 'c1', customerType: 'consumer' }),
        quote('Q-2', 'quote.requested', at(2), { customerId: 'c2', customerType: 'consumer' }),
        quote('Q-2', 'quote.issued', at(2, 50)),
        '',
        quote('Q-3', 'quote.requested', at(3), { customerId: 'c3', customerType: 'consumer' }),
        '{"id": "broken"',
        quote('Q-4', 'quote.exploded', at(4)),
      ].join('\n')
      const ndjsonFile = path.join(directory, 'quotes.ndjson')
      await writeFile(ndjsonFile, ndjson)
      // Deliveries from a carrier's CSV: D-1 on time and whole (good), D-2 one item short (bad).
      const csv = [
        'id,source,type,time,subject,data.customerId,data.promisedBy,data.items:number,data.itemsDelivered:number',
        `d1s,/carrier/csv,delivery.scheduled,${at(5)},D-1,c5,${at(9)},2,`,
        `d1d,/carrier/csv,delivery.delivered,${at(8)},D-1,,,,2`,
        `d2s,/carrier/csv,delivery.scheduled,${at(5)},D-2,c6,${at(9)},2,`,
        `d2d,/carrier/csv,delivery.delivered,${at(7)},D-2,,,,1`,
        // Not an event: a cell that is no number. Rejected with its line before sending.
        `d3s,/carrier/csv,delivery.scheduled,${at(5)},D-3,c7,${at(9)},two,`,
      ].join('\n')
      const csvFile = path.join(directory, 'deliveries.csv')
      await writeFile(csvFile, csv)

      const rejections = path.join(directory, 'rejected.ndjson')
      const first = await importFile(ndjsonFile, gateway.url, ['--rejections', rejections, '--batch', '3'])
      expect(first.code).toBe(1) // some lines rejected
      expect(JSON.parse(first.stdout)).toMatchObject({ lines: 7, sent: 7, accepted: 5, rejected: 2 })
      expect(first.stderr).toContain('imported 7/7 (100 %), accepted 5, rejected 2')
      const rejected = (await readFile(rejections, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
      expect(rejected.map((row) => [row.line, row.reason])).toEqual([
        [7, 'malformed_json'],
        [8, 'unknown_type'],
      ])
      const csvRejections = path.join(directory, 'rejected-csv.ndjson')
      const csvRun = await importFile(csvFile, gateway.url, ['--rejections', csvRejections])
      expect(csvRun.code).toBe(1)
      expect(JSON.parse(csvRun.stdout)).toMatchObject({
        lines: 5,
        accepted: 4,
        rejected: 1,
        reasons: { malformed_csv: 1 },
      })
      expect(JSON.parse(await readFile(csvRejections, 'utf8'))).toMatchObject({
        line: 6,
        reason: 'malformed_csv',
        errors: [
          { path: 'data.items', message: 'expected a number (whole numbers within ±2^53), got "two"' },
        ],
      })

      await expect
        .poll(() => outcomes(clickhouse, 'fast_quote'), { timeout: 30_000 })
        .toEqual(['Q-1:good', 'Q-2:bad', 'Q-3:bad'])
      await expect
        .poll(() => outcomes(clickhouse, 'on_time_in_full'), { timeout: 30_000 })
        .toEqual(['D-1:good', 'D-2:bad'])
      // Distinct events (a batch retried after a failure may write a row twice until merged).
      expect((await countEvents(clickhouse, { kafkaTopic: gateway.topics.events })).distinct).toBe(9)

      // The same import again: the gateway accepts the copies, the processor drops them.
      const again = await importFile(ndjsonFile, gateway.url)
      expect(JSON.parse(again.stdout)).toMatchObject({ accepted: 5, rejected: 2 })
      expect((await importFile(csvFile, gateway.url)).code).toBe(1)
      const duplicates = async () =>
        (await registry.getSingleMetric('cpi_processor_events_total')?.get())?.values.find(
          (value) => value.labels.outcome === 'duplicate',
        )?.value
      await expect.poll(duplicates, { timeout: 30_000 }).toBe(9)
      expect((await countEvents(clickhouse, { kafkaTopic: gateway.topics.events })).distinct).toBe(9)
      expect(await outcomes(clickhouse, 'fast_quote')).toEqual(['Q-1:good', 'Q-2:bad', 'Q-3:bad'])

      // A usage error is said and exits 2.
      const missing = await importFile(path.join(directory, 'none.ndjson'), gateway.url)
      expect(missing.code).toBe(2)
      expect(missing.stderr).toContain('cannot read')
    } finally {
      await processor.stop()
      await gateway.close()
    }
  })
})
