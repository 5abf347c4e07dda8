import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startApi } from '@cpi/api'
import { applyRetention, type ClickHouse } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { ingestKeysFor, startAccessKeys, startIngestGateway } from '@cpi/ingest'
import { BatchingProducer } from '@cpi/kafka'
import { createPseudonymizer, startProcessor } from '@cpi/processor'
import { createHttpServer, createMetricsRegistry } from '@cpi/runtime'
import { exampleEvents } from '@cpi/schemas'
import { describe, expect } from 'vitest'
import { testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'

// Security (docs/security.md): scoped keys rotated without a restart, pseudonymized customer ids, and
// retention TTLs, against the real broker and engine.

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 60_000,
): Promise<T> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value)) return value
    if (Date.now() > until) throw new Error(`timed out; last value: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function count(clickhouse: ClickHouse, query: string, params: Record<string, unknown> = {}) {
  const result = await clickhouse.reader.query({ query, query_params: params, format: 'JSONEachRow' })
  const rows = await result.json<{ n: string }>()
  return Number(rows[0]?.n ?? 0)
}

describe('scoped keys from a keys file, rotated while the server runs', () => {
  it('answers 403 for a valid key without the scope, 401 for a rotated-out or expired key, and reloads without a restart', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cpi-keys-'))
    const keysFile = path.join(dir, 'keys.json')
    const OPS = `ops-${randomBytes(12).toString('hex')}`
    const READER = `reader-${randomBytes(12).toString('hex')}`
    const CI = `ci-${randomBytes(12).toString('hex')}`
    const NEXT = `ops-next-${randomBytes(12).toString('hex')}`
    const ENV_INGEST = 'env-ingest-key-0123456789'
    const ENV_READ = 'env-read-token-0123456789'
    const writeKeys = async (keys: unknown[]) => {
      await writeFile(`${keysFile}.tmp`, JSON.stringify(keys))
      await rename(`${keysFile}.tmp`, keysFile)
    }
    await writeKeys([
      { id: 'ops-2026-11', key: OPS, scopes: ['read', 'admin'] },
      { id: 'grafana', key: READER, scopes: ['read'] },
      { id: 'ci', key: CI, scopes: ['ingest'] },
      {
        id: 'old',
        key: `old-${OPS}`,
        scopes: ['read', 'admin', 'ingest'],
        expiresAt: '2020-01-01T00:00:00Z',
      },
    ])
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: await createTopic('sec_events', 1),
      CPI_DEAD_LETTER_TOPIC: await createTopic('sec_dlq', 1),
      CPI_MODE: 'production',
      CPI_INGEST_KEYS: ENV_INGEST,
      CPI_READ_TOKENS: ENV_READ,
      CPI_KEYS_FILE: keysFile,
      // Long: the reload below comes from fs.watch, not from the poll.
      CPI_KEYS_RELOAD_MS: '60000',
    })
    // Wired as the all-in-one process wires them: one server, one set of keys.
    const http = createHttpServer(logger)
    const ingestKeys = await ingestKeysFor(config, logger)
    const access = await startAccessKeys(config, logger, ingestKeys)
    const gateway = await startIngestGateway({
      config,
      kafka,
      http,
      registry: createMetricsRegistry({ service: 'test' }),
      logger,
      access: { source: access, ingestKeys },
    })
    const api = await startApi({ config, clickhouse, http, logger, access })
    const base = await http.listen({ port: 0, host: '127.0.0.1' })
    const call = async (method: string, route: string, key: string | undefined, body?: unknown) => {
      const response = await fetch(`${base}${route}`, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body === undefined
            ? {}
            : {
                'content-type': route === '/v1/events' ? 'application/cloudevents+json' : 'application/json',
              }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} }
    }
    const event = (id: string) => ({ ...exampleEvents['call.queued'], id, time: new Date().toISOString() })
    const silence = {
      matchers: [{ name: 'cpi', value: 'fast_quote' }],
      duration: '1h',
      createdBy: 'test',
      comment: 'scopes',
    }
    try {
      await gateway.ready

      // Each scope where it belongs.
      expect((await call('POST', '/v1/events', CI, event('k1'))).status).toBe(200)
      expect((await call('POST', '/v1/events', ENV_INGEST, event('k2'))).status).toBe(200)
      expect((await call('GET', '/v1/silences', READER)).status).toBe(200)
      expect((await call('GET', '/v1/silences', ENV_READ)).status).toBe(200)
      const created = await call('POST', '/v1/silences', OPS, silence)
      expect(created.status, JSON.stringify(created.body)).toBe(201)

      // A valid key without the scope: 403 naming the scope.
      for (const [method, route, key, scope, body] of [
        ['POST', '/v1/events', READER, 'ingest', event('k3')],
        ['POST', '/v1/events', OPS, 'ingest', event('k4')],
        ['GET', '/v1/cpis', CI, 'read', undefined],
        ['POST', '/v1/silences', READER, 'admin', silence],
        ['POST', '/v1/silences', ENV_READ, 'admin', silence],
        ['DELETE', `/v1/silences/${created.body.id}`, READER, 'admin', undefined],
      ] as const) {
        const refused = await call(method, route, key, body)
        expect(refused.status, `${method} ${route} with the ${scope}-less key`).toBe(403)
        expect(refused.body).toMatchObject({
          error: 'forbidden',
          message: `this key lacks the scope ${scope}`,
        })
      }

      // An expired key: 401, on both sides.
      const expiredIngest = await call('POST', '/v1/events', `old-${OPS}`, event('k5'))
      expect(expiredIngest.status).toBe(401)
      expect(expiredIngest.headers.get('www-authenticate')).toMatch(
        /^Bearer realm="cpi-ingest", error="invalid_token"/,
      )
      expect((await call('GET', '/v1/cpis', `old-${OPS}`)).status).toBe(401)

      // Rotation: the file now names NEXT instead of OPS and drops CI. No restart.
      await writeKeys([
        { id: 'ops-2026-12', key: NEXT, scopes: ['read', 'admin'] },
        { id: 'grafana', key: READER, scopes: ['read'] },
      ])
      await waitFor(
        async () => (await call('GET', '/v1/silences', NEXT)).status,
        (status) => status === 200,
        10_000,
      )
      const rotatedOut = await call('GET', '/v1/silences', OPS)
      expect(rotatedOut.status).toBe(401)
      expect(rotatedOut.headers.get('www-authenticate')).toBe('Bearer realm="cpi", error="invalid_token"')
      expect(rotatedOut.body).toEqual({
        error: 'unauthorized',
        message: 'the token is not a key of this API (unknown, rotated out or expired)',
      })
      const rotatedIngest = await call('POST', '/v1/events', CI, event('k6'))
      expect(rotatedIngest.status).toBe(401)
      expect(rotatedIngest.headers.get('www-authenticate')).toMatch(/error="invalid_token"/)
      expect((await call('DELETE', `/v1/silences/${created.body.id}`, NEXT)).status).toBe(204)
      // The environment's keys are not the file's: they stay.
      expect((await call('POST', '/v1/events', ENV_INGEST, event('k7'))).status).toBe(200)

      // A broken version keeps the keys in force.
      await writeFile(keysFile, '[{"id": "ops-2026-12", "key": ')
      expect(await access.reload()).toBe(false)
      expect((await call('GET', '/v1/silences', NEXT)).status).toBe(200)
      expect((await call('GET', '/v1/silences', OPS)).status).toBe(401)
    } finally {
      api.stop()
      await http.close()
      await gateway.stop()
      access.stop()
    }
  })
})

describe('pseudonymized customer ids (CPI_PSEUDONYMIZE_KEY)', () => {
  it('stores no clear customer id in any table, only its HMAC, for events written straight to Kafka', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const KEY = randomBytes(32).toString('hex')
    const pseudonym = createPseudonymizer(KEY)
    const run = randomBytes(4).toString('hex')
    const customers = [0, 1, 2].map((index) => `cust-clear-${run}-${index}`)
    const rejectedCustomer = `cust-rejected-${run}`
    const events = await createTopic('pseudo_events', 2)
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: events,
      CPI_DEAD_LETTER_TOPIC: await createTopic('pseudo_dlq', 1),
      CPI_PROCESSOR_GROUP: uniqueName('processor'),
      CPI_PSEUDONYMIZE_KEY: KEY,
      CPI_SWEEP_INTERVAL_MS: '200',
    })
    // Every example event type that carries a customer id, once per customer, the churn event's
    // subject being the customer itself.
    const start = Date.now() - 10 * 60_000
    const withCustomer = Object.values(exampleEvents).filter(
      (example) => typeof (example.data as { customerId?: unknown } | undefined)?.customerId === 'string',
    )
    const valid = customers.flatMap((customer, c) =>
      withCustomer.map((example, e) => {
        const event = structuredClone(example) as Record<string, unknown> & { data: Record<string, unknown> }
        event.id = `${run}-${c}-${e}`
        event.subject = example.type === 'customer.churned' ? customer : `${example.subject}-${run}-${c}`
        event.time = new Date(start + (c * withCustomer.length + e) * 1000).toISOString()
        event.data.customerId = customer
        return event
      }),
    )
    const invalid = {
      ...exampleEvents['order.placed'],
      id: `${run}-bad`,
      time: new Date(start).toISOString(),
      data: { customerId: rejectedCustomer, amount: 'lots' },
    }
    expect(withCustomer.map((example) => example.type)).toEqual(
      expect.arrayContaining(['quote.requested', 'survey.responded', 'order.placed', 'customer.churned']),
    )

    const registry = createMetricsRegistry({ service: 'test' })
    const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
    const producer = new BatchingProducer(kafka, { logger })
    const db = clickhouse.database
    try {
      await processor.started
      await producer.connect()
      await producer.send(
        events,
        [...valid, invalid].map((event) => ({ key: String(event.subject), value: JSON.stringify(event) })),
      )
      await waitFor(
        async () => [
          await count(clickhouse, `SELECT count() AS n FROM ${db}.events FINAL`),
          await count(clickhouse, `SELECT count() AS n FROM ${db}.rejected_events FINAL`),
          await count(clickhouse, `SELECT count() AS n FROM ${db}.outcomes FINAL`),
        ],
        ([stored, rejected, outcomes]) => stored === valid.length && rejected === 1 && (outcomes ?? 0) > 0,
      )

      // Every column of every table that can hold text, materialized ones included.
      const columnsResult = await clickhouse.reader.query({
        query: `SELECT c.table AS table, groupArray(c.name) AS columns
                FROM system.columns AS c
                INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
                WHERE c.database = {db:String} AND t.engine NOT LIKE '%View%' AND c.type LIKE '%String%'
                GROUP BY c.table ORDER BY c.table`,
        query_params: { db },
        format: 'JSONEachRow',
      })
      const tables = await columnsResult.json<{ table: string; columns: string[] }>()
      expect(tables.map((entry) => entry.table)).toEqual(
        expect.arrayContaining(['events', 'outcomes', 'rejected_events', 'watermarks', 'alerts']),
      )
      expect(tables.find((entry) => entry.table === 'events')?.columns).toEqual(
        expect.arrayContaining(['payload', 'subject', 'customer_id']),
      )
      const holding = async (needles: string[]) => {
        const found: string[] = []
        for (const { table, columns } of tables) {
          const where = columns.map(
            (column) => `multiSearchAny(toString(\`${column}\`), {needles:Array(String)})`,
          )
          const n = await count(
            clickhouse,
            `SELECT count() AS n FROM ${db}.\`${table}\` WHERE ${where.join(' OR ')}`,
            {
              needles,
            },
          )
          if (n > 0) found.push(`${table} (${n})`)
        }
        return found
      }
      // No clear id of an accepted event anywhere.
      expect(await holding(customers)).toEqual([])
      // The documented exception: a rejected event keeps its raw payload, in rejected_events only.
      expect(await holding([rejectedCustomer])).toEqual(['rejected_events (1)'])

      // The pseudonyms are there, one per customer, on every event of that customer: joins by
      // customer still work.
      const perCustomer = await clickhouse.reader.query({
        query: `SELECT customer_id, count() AS n, countIf(type = 'customer.churned' AND subject = customer_id) AS churned
                FROM ${db}.events FINAL GROUP BY customer_id ORDER BY customer_id`,
        format: 'JSONEachRow',
      })
      const rows = await perCustomer.json<{
        customer_id: string
        n: number | string
        churned: number | string
      }>()
      expect(rows.map((row) => ({ ...row, n: Number(row.n), churned: Number(row.churned) }))).toEqual(
        customers
          .map((customer) => ({ customer_id: pseudonym(customer), n: withCustomer.length, churned: 1 }))
          .sort((a, b) => a.customer_id.localeCompare(b.customer_id)),
      )
      expect(pseudonym(customers[0] as string)).toMatch(/^p_[0-9a-f]{32}$/)
    } finally {
      await producer.disconnect()
      await processor.stop()
    }
  })
})

describe('retention TTLs (CPI_RETENTION_*_DAYS) on the real engine', () => {
  it('sets, keeps, changes and removes each table TTL with ALTER TABLE, idempotently, and expired rows go', async ({
    clickhouse,
  }) => {
    const db = clickhouse.database
    const showCreate = async (table: string) => {
      const result = await clickhouse.reader.query({
        query: `SHOW CREATE TABLE ${db}.${table}`,
        format: 'TabSeparatedRaw',
      })
      return (await result.text()).replace(/\s+/g, ' ')
    }
    const createQuery = async (table: string) => {
      const result = await clickhouse.reader.query({
        query:
          'SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {table:String}',
        query_params: { db, table },
        format: 'JSONEachRow',
      })
      return ((await result.json<{ create_table_query: string }>())[0]?.create_table_query ?? '') as string
    }

    const first = await applyRetention(clickhouse, { eventsDays: 30, rejectedDays: 7, alertsDays: 90 })
    expect(first.changed).toEqual([
      'events: toDateTime(time) + toIntervalDay(30)',
      'rejected_events: toDateTime(recorded_at) + toIntervalDay(7)',
      'alerts: toDateTime(evaluated_at) + toIntervalDay(90)',
      'alert_deliveries: toDateTime(delivered_at) + toIntervalDay(97)',
    ])
    expect(await createQuery('events')).toContain('TTL toDateTime(time) + toIntervalDay(30)')
    expect(await showCreate('rejected_events')).toContain('TTL toDateTime(recorded_at) + toIntervalDay(7)')
    expect(await showCreate('alerts')).toContain('TTL toDateTime(evaluated_at) + toIntervalDay(90)')
    expect(await showCreate('alert_deliveries')).toContain('TTL toDateTime(delivered_at) + toIntervalDay(97)')

    // Idempotent: the same settings alter nothing.
    expect(await applyRetention(clickhouse, { eventsDays: 30, rejectedDays: 7, alertsDays: 90 })).toEqual({
      changed: [],
      unchanged: ['events', 'rejected_events', 'alerts', 'alert_deliveries'],
    })
    // Unset leaves a table as it is; a new value replaces the TTL; 0 removes it.
    const second = await applyRetention(clickhouse, { eventsDays: 60, rejectedDays: 0 })
    expect(second.changed).toEqual([
      'events: toDateTime(time) + toIntervalDay(60)',
      'rejected_events: no TTL',
    ])
    expect(await createQuery('events')).toContain('TTL toDateTime(time) + toIntervalDay(60)')
    expect(await createQuery('rejected_events')).not.toContain(' TTL ')
    expect(await createQuery('alerts')).toContain('TTL toDateTime(evaluated_at) + toIntervalDay(90)')

    // The TTL does what it says: an event older than it is deleted, a recent one stays.
    const insert = (id: string, time: string) =>
      clickhouse.writer.insert({
        table: `${db}.events`,
        values: [
          {
            id,
            type: 'call.queued',
            source: '/t',
            subject: `S-${id}`,
            time,
            payload: '{}',
            kafka_topic: 't',
            kafka_partition: 0,
            kafka_offset: 0,
          },
        ],
        format: 'JSONEachRow',
      })
    await insert('old', new Date(Date.now() - 90 * 86_400_000).toISOString())
    await insert('new', new Date(Date.now() - 86_400_000).toISOString())
    await clickhouse.writer.command({ query: `OPTIMIZE TABLE ${db}.events FINAL` })
    const ids = await clickhouse.reader.query({
      query: `SELECT id FROM ${db}.events WHERE id IN ('old', 'new') ORDER BY id`,
      format: 'JSONEachRow',
    })
    expect(await ids.json()).toEqual([{ id: 'new' }])
  })
})

describe('the documented least-privilege dashboard role (docs/security.md)', () => {
  it('grants every object the Grafana dashboard reads, the tables behind its views included, and no raw payload', async ({
    clickhouse,
  }) => {
    // The embedded engine has no users or grants (CREATE USER needs an access storage it lacks),
    // so the SQL cannot be applied here; this checks that what it grants is what the dashboard
    // needs on the real schema.
    const security = await readFile(path.join(root, 'docs', 'security.md'), 'utf8')
    const grants = new Map<string, string[] | 'all'>()
    for (const match of security.matchAll(/^GRANT SELECT(?:\(([^)]*)\))? ON cpi\.(\w+) TO cpi_dashboard;$/gm))
      grants.set(match[2] as string, match[1] ? match[1].split(',').map((column) => column.trim()) : 'all')
    expect(grants.size).toBeGreaterThan(0)

    const db = clickhouse.database
    const objects = await clickhouse.reader.query({
      query: 'SELECT name, engine, create_table_query FROM system.tables WHERE database = {db:String}',
      query_params: { db },
      format: 'JSONEachRow',
    })
    const schema = new Map(
      (await objects.json<{ name: string; engine: string; create_table_query: string }>()).map((row) => [
        row.name,
        row,
      ]),
    )
    for (const granted of grants.keys()) expect(schema.has(granted), `granted ${granted} exists`).toBe(true)

    // What the dashboard names, then what each view reads (INVOKER views: the reader needs both).
    const dashboard = await readFile(
      path.join(root, 'infra', 'grafana', 'dashboards', 'cpi-overview.json'),
      'utf8',
    )
    const needed = new Set([...dashboard.matchAll(/\bcpi\.(\w+)/g)].map((match) => match[1] as string))
    for (const name of [...needed]) {
      const queue = [name]
      while (queue.length > 0) {
        const object = schema.get(queue.pop() as string)
        if (object?.engine !== 'View') continue
        for (const match of object.create_table_query.matchAll(new RegExp(`\\b${db}\\.(\\w+)`, 'g'))) {
          const read = match[1] as string
          if (read !== object.name && !needed.has(read)) {
            needed.add(read)
            queue.push(read)
          }
        }
      }
    }
    expect([...needed].sort()).toEqual(
      expect.arrayContaining([
        'cpi_rollup',
        'cpi_rollup_now',
        'cpi_values',
        'cpi_values_hourly',
        'watermarks',
      ]),
    )
    for (const object of needed) expect(grants.has(object), `${object} is granted`).toBe(true)

    // rejected_events: only the columns of the panel (and the sorting key FINAL reads), never
    // the raw payload, the errors (they quote values), the subject or the event id.
    const rejected = grants.get('rejected_events')
    expect(rejected).not.toBe('all')
    expect(rejected).toEqual(expect.arrayContaining(['rejected_at', 'reason']))
    for (const column of ['raw', 'errors', 'subject', 'event_id', 'sender'])
      expect(rejected).not.toContain(column)
    // Nor the events table, whose payload is the whole event.
    expect(grants.has('events')).toBe(false)
  })
})
