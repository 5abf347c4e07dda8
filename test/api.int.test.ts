import { registerApiRoutes, startApi } from '@cpi/api'
import { insertEvents, queryCpiValues } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { BatchingProducer } from '@cpi/kafka'
import { startProcessor } from '@cpi/processor'
import { createHttpServer, createMetricsRegistry } from '@cpi/runtime'
import { customerValue, kafkaSink, parseScenario, sendAll, simulate } from '@cpi/simulator'
import { describe, expect } from 'vitest'
import { testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal } from './support/ledger.ts'
import { topicSize } from './support/topic-reader.ts'

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** Reads Server-Sent Events from a streaming response. */
function sseReader(response: Response) {
  const events: { event: string; data: unknown; at: number }[] = []
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const done = (async () => {
    for (;;) {
      const { value, done: finished } = await reader.read().catch(() => ({ value: undefined, done: true }))
      if (finished) return
      buffer += decoder.decode(value, { stream: true })
      let end = buffer.indexOf('\n\n')
      while (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const event = /^event: (.+)$/m.exec(block)?.[1]
        const data = /^data: (.+)$/m.exec(block)?.[1]
        if (event && data) events.push({ event, data: JSON.parse(data), at: Date.now() })
        end = buffer.indexOf('\n\n')
      }
    }
  })()
  return { events, close: () => reader.cancel().then(() => done) }
}

describe('query API over the real engine, fed through the real broker', () => {
  it('serves the catalog, series, drill-downs and filters equal to the documented views, validates parameters, manages silences and streams changes', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const events = await createTopic('api_events', 3)
    const groupId = uniqueName('processor')
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: events,
      CPI_DEAD_LETTER_TOPIC: await createTopic('api_dlq', 1),
      CPI_PROCESSOR_GROUP: groupId,
      CPI_IDLE_AFTER_MS: String(10 * 365 * 24 * HOUR),
      CPI_SWEEP_INTERVAL_MS: '500',
      CPI_STREAM_INTERVAL_MS: '1000',
    })
    const registry = createMetricsRegistry({ service: 't' })
    const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
    const producer = new BatchingProducer(kafka, { logger })
    const http = createHttpServer(logger)
    const api = await startApi({ config, clickhouse, http, logger, kafka })
    const base = await http.listen({ port: 0, host: '127.0.0.1' })
    // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, each checked by the assertions
    type Json = Record<string, any>
    const get = async (route: string) => {
      const response = await fetch(`${base}${route}`)
      return { status: response.status, body: (await response.json()) as Json }
    }
    try {
      await processor.started
      await producer.connect()
      const start = Math.floor((Date.now() - 5 * HOUR) / HOUR) * HOUR
      const simulation = simulate(parseScenario({ seed: 5, ratePerSecond: 2, malformedShare: 0 }), {
        from: start,
        to: start + 3 * HOUR,
      })
      const sendUpTo = async (cutoff: number, after = Number.NEGATIVE_INFINITY) => {
        await sendAll(
          simulation.events.filter((event) => event.time > after && event.time <= cutoff),
          kafkaSink(producer, events),
        )
        const total = await topicSize(kafka, events)
        await expect
          .poll(() => committedTotal(kafka, groupId, events), { timeout: 180_000, interval: 300 })
          .toBe(total)
        return total
      }
      await sendUpTo(start + 2 * HOUR)
      // Watermarks are recorded by the processor's sweep, after the batches that moved them.
      await expect
        .poll(async () => Date.parse((await get('/v1/freshness')).body.watermark ?? '0'), { timeout: 30_000 })
        .toBeGreaterThan(start + 2 * HOUR - 5 * MINUTE)

      // The catalog: every built-in CPI with its current value as of the watermark.
      const catalog = await get('/v1/cpis')
      expect(catalog.status).toBe(200)
      expect(catalog.body.cpis.map((cpi: { name: string }) => cpi.name)).toEqual(
        api.catalog.map((cpi) => cpi.name),
      )
      const fastQuote = catalog.body.cpis.find((cpi: { name: string }) => cpi.name === 'fast_quote')
      expect(fastQuote.objective).toEqual({ target: 0.9, window: '28d' })
      expect(fastQuote.current.total).toBeGreaterThan(100)
      expect(fastQuote.current.ratio).toBeCloseTo(fastQuote.current.good / fastQuote.current.total, 12)
      expect(fastQuote.sparkline).toHaveLength(24)
      expect(['ok', 'at_risk', 'breached']).toContain(fastQuote.health)
      expect(Date.parse(catalog.body.asOf)).toBeGreaterThan(start + 2 * HOUR - 5 * MINUTE)

      // A series by hour and channel equals the documented hourly view, window by window.
      const from = new Date(start).toISOString()
      const to = new Date(start + 2 * HOUR).toISOString()
      const series = await get(`/v1/cpis/fast_quote?from=${from}&to=${to}&step=1h&by=channel`)
      expect(series.status).toBe(200)
      const view = (
        await queryCpiValues(clickhouse, { grain: 'hour', cpi: 'fast_quote', dimension: 'channel' })
      ).filter(
        (row) => Date.parse(row.windowStart) >= start && Date.parse(row.windowStart) < start + 2 * HOUR,
      )
      const fromApi = series.body.series.flatMap(
        (s: { segment: string; points: Record<string, unknown>[] }) =>
          s.points.map((p) => ({ segment: s.segment, ...p })),
      )
      expect(fromApi.length).toBe(view.length)
      for (const row of view) {
        const match = fromApi.find(
          (p: { segment: string; windowStart: string }) =>
            p.segment === row.value && p.windowStart === row.windowStart,
        )
        expect(match, `${row.value} ${row.windowStart}`).toMatchObject({
          good: row.good,
          total: row.total,
          pending: row.pending,
          status: row.status,
        })
        expect(match.p90).toBeCloseTo(row.p90 as number, 6)
      }

      // Without step: one value for the range, the sum of the windows; where filters a segment.
      const whole = await get(`/v1/cpis/fast_quote?from=${from}&to=${to}`)
      const [all] = whole.body.series
      expect(all.segment).toBe('all')
      expect(all.points).toHaveLength(1)
      const viewAll = (
        await queryCpiValues(clickhouse, { grain: 'hour', cpi: 'fast_quote', dimension: 'all' })
      ).filter(
        (row) => Date.parse(row.windowStart) >= start && Date.parse(row.windowStart) < start + 2 * HOUR,
      )
      expect(all.points[0].good).toBe(viewAll.reduce((sum, row) => sum + row.good, 0))
      expect(all.points[0].total).toBe(viewAll.reduce((sum, row) => sum + row.total, 0))
      const web = await get(`/v1/cpis/fast_quote?from=${from}&to=${to}&where=channel:web`)
      const webByChannel = await get(`/v1/cpis/fast_quote?from=${from}&to=${to}&by=channel`)
      const webSegment = webByChannel.body.series.find((s: { segment: string }) => s.segment === 'web')
      expect(web.body.series[0].points[0]).toEqual({
        ...webSegment.points[0],
        windowStart: web.body.series[0].points[0].windowStart,
      })
      expect(web.body.where).toEqual({ channel: 'web' })

      // Parameters are validated with a 400 naming each problem; SQL never sees them as text.
      const bad = await get(`/v1/cpis/fast_quote?from=yesterday&step=1x&by=colour&where=channel'--:web`)
      expect(bad.status).toBe(400)
      expect(bad.body.details.map((d: { parameter: string }) => d.parameter).sort()).toEqual([
        'by',
        'from',
        'step',
        'where',
      ])
      expect(bad.body.message).toMatch(
        /by: expected one of the CPI's dimensions: channel, region, product, customerType, got "colour"/,
      )
      const injection = await get(`/v1/cpis/fast_quote?where=${encodeURIComponent("channel:web' OR 1=1 --")}`)
      expect(injection.status).toBe(200)
      expect(injection.body.series).toEqual([])
      expect((await get('/v1/cpis/no_such_cpi')).status).toBe(404)
      expect((await get('/v1/alerts?state=burning')).status).toBe(400)
      expect((await get('/v1/openapi.json')).body.openapi).toBe('3.1.0')
      const rules = (await get('/v1/alert-rules')).body.cpis.find(
        (r: { cpi: string }) => r.cpi === 'fast_quote',
      )
      expect(rules.warnings).toEqual([
        'page tier 14.4× can never fire at target 90%: it needs an error rate of 144%',
      ])
      expect(rules.tiers[0]).toMatchObject({
        severity: 'page',
        factor: 6,
        longWindow: '336m',
        shortWindow: '28m',
      })

      // Silences: create, list, expire.
      const created = await fetch(`${base}/v1/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          matchers: [{ name: 'cpi', value: 'fast_quote' }],
          duration: '2h',
          createdBy: 'test',
          comment: 'maintenance',
        }),
      })
      expect(created.status).toBe(201)
      const silence = (await created.json()) as { id: string; state: string }
      expect(silence.state).toBe('active')
      expect((await get('/v1/silences')).body.silences.map((s: { id: string }) => s.id)).toContain(silence.id)
      const refused = await fetch(`${base}/v1/silences`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ matchers: [], duration: 'soon' }),
      })
      expect(refused.status).toBe(400)
      expect(((await refused.json()) as { message: string }).message).toMatch(/matchers/)
      expect((await fetch(`${base}/v1/silences/${silence.id}`, { method: 'DELETE' })).status).toBe(204)
      const after = (await get('/v1/silences')).body.silences.find((s: { id: string }) => s.id === silence.id)
      expect(after.state).toBe('expired')
      expect((await fetch(`${base}/v1/silences/nope`, { method: 'DELETE' })).status).toBe(404)

      // Freshness: a watermark per partition, nothing left to consume.
      const freshness = await get('/v1/freshness')
      expect(freshness.body.partitions).toHaveLength(3)
      expect(freshness.body.consumerLag).toBe(0)

      // A customer's value: the credits sent so far, summed per kind and unit as the simulator's
      // facts say; a page at a time, newest first; 404 only for a customer no event names.
      const sent = (event: { time: number }) => event.time <= start + 2 * HOUR
      const credited = new Map<string, number>()
      for (const fact of simulation.facts)
        if (fact.kind === 'value' && sent({ time: fact.at }))
          credited.set(fact.customerId, (credited.get(fact.customerId) ?? 0) + 1)
      const [customer] = [...credited].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? []
      expect(customer).toBeDefined()
      const truth = customerValue(simulation.facts, customer as string, start + 2 * HOUR)
      const value = await get(`/v1/customers/${customer}/value?limit=1`)
      expect(value.status).toBe(200)
      expect(value.body).toMatchObject({
        customerId: customer,
        from: null,
        to: null,
        kind: null,
        credits: truth.credits,
      })
      expect(
        value.body.totals.map((total: Json) => [
          total.kind,
          total.unit,
          total.credits,
          total.creditsWithPromise,
        ]),
      ).toEqual(truth.totals.map((total) => [total.kind, total.unit, total.credits, total.withPromise]))
      for (const [index, total] of truth.totals.entries()) {
        expect(value.body.totals[index].amount).toBeCloseTo(total.amount, 6)
        expect(value.body.totals[index].promised).toBeCloseTo(total.promised, 6)
        expect(value.body.totals[index].metPromise).toBe(total.metPromise)
      }
      // Walking the pages gives every credit once, newest first.
      const walked: Json[] = [...value.body.recent]
      let cursor = value.body.nextCursor as string | null
      while (cursor) {
        const page = await get(`/v1/customers/${customer}/value?limit=1&cursor=${cursor}`)
        walked.push(...page.body.recent)
        cursor = page.body.nextCursor
      }
      expect(walked.map((credit) => credit.id).sort()).toEqual(
        simulation.facts
          .filter((fact) => fact.kind === 'value' && fact.customerId === customer && sent({ time: fact.at }))
          .map((fact) => fact.subject)
          .sort(),
      )
      expect(walked.map((credit) => credit.creditedAt)).toEqual(
        walked
          .map((credit) => credit.creditedAt)
          .sort()
          .reverse(),
      )
      // A known customer with nothing in the range: empty, not missing.
      const empty = await get(`/v1/customers/${customer}/value?to=${new Date(start - HOUR).toISOString()}`)
      expect(empty).toMatchObject({
        status: 200,
        body: { credits: 0, totals: [], recent: [], nextCursor: null },
      })
      expect((await get('/v1/customers/nobody-at-all/value')).status).toBe(404)
      const badValue = await get(`/v1/customers/${customer}/value?kind=gifts&limit=500&cursor=x`)
      expect(badValue.status).toBe(400)
      expect(badValue.body.details.map((d: { parameter: string }) => d.parameter)).toEqual([
        'kind',
        'limit',
        'cursor',
      ])
      expect(badValue.body.message).toMatch(/kind: expected one of savings, usage, outcome, got "gifts"/)

      // The live stream: a snapshot, then the changed CPI values within about a second of the
      // processor committing new events.
      const stream = sseReader(await fetch(`${base}/v1/stream`))
      await expect
        .poll(() => stream.events.filter((e) => e.event === 'snapshot').length, { timeout: 10_000 })
        .toBe(1)
      const snapshot = stream.events[0]?.data as { cpis: { name: string; current: unknown }[] }
      expect(snapshot.cpis).toHaveLength(api.catalog.length)
      await sendUpTo(start + 3 * HOUR, start + 2 * HOUR)
      const committedAt = Date.now()
      await expect
        .poll(
          () =>
            stream.events.filter(
              (e) => e.event === 'cpi' && (e.data as { name: string }).name === 'fast_quote',
            ).length,
          { timeout: 10_000, interval: 50 },
        )
        .toBeGreaterThanOrEqual(1)
      const pushed = stream.events.find(
        (e) => e.event === 'cpi' && (e.data as { name: string }).name === 'fast_quote',
      )
      const delay = (pushed?.at ?? Number.POSITIVE_INFINITY) - committedAt
      logger.info({ delayMs: delay }, 'stream delay after commit')
      expect(delay).toBeLessThan(3000)
      expect(stream.events.some((e) => e.event === 'freshness')).toBe(true)
      expect(api.streamClients()).toBe(1)
      await stream.close()
      await expect.poll(() => api.streamClients(), { timeout: 5000 }).toBe(0)
    } finally {
      api.stop()
      await http.close()
      await producer.disconnect()
      await processor.stop()
    }
  })

  it("pages a customer's credits that share a time and an id across sources, and counts each identity as the copy the processor counts", async ({
    clickhouse,
    logger,
  }) => {
    const at = Date.parse('2026-11-20T10:00:00Z')
    const credit = (
      source: string,
      id: string,
      position: { partition: number; offset: number; tooLate?: 0 | 1 },
      data: Record<string, unknown>,
      time = at,
    ) => ({
      id,
      type: 'value.credited',
      source,
      subject: id,
      time: new Date(time).toISOString(),
      payload: JSON.stringify({
        specversion: '1.0',
        id,
        source,
        type: 'value.credited',
        subject: id,
        time: new Date(time).toISOString(),
        data: { customerId: 'ledger-customer', kind: 'savings', unit: 'EUR', ...data },
      }),
      kafka_topic: 'ledger_events',
      kafka_partition: position.partition,
      kafka_offset: position.offset,
      too_late: position.tooLate ?? 0,
    })
    // Copies of one identity share the sorting key: kept apart (separate inserts, no merges) as
    // older data may hold them, so which copy counts is the query's choice, not the engine's.
    await clickhouse.writer.command({ query: `SYSTEM STOP MERGES ${clickhouse.database}.events` })
    const copies = [
      credit('billing', 'stmt-2', { partition: 0, offset: 8 }, { amount: 4000, promised: 5 }, at - HOUR),
      credit('billing', 'stmt-2', { partition: 1, offset: 9 }, { amount: 400, promised: 5 }, at - HOUR),
      credit('billing', 'stmt-2', { partition: 1, offset: 7 }, { amount: 4, promised: 5 }, at - HOUR),
    ]
    for (const copy of copies) await insertEvents(clickhouse, [copy])
    await insertEvents(clickhouse, [
      // Three credits at one instant with one id, from three systems: three identities.
      credit('billing', 'stmt-1', { partition: 0, offset: 10 }, { amount: 10, promised: 10 }),
      credit('crm', 'stmt-1', { partition: 0, offset: 11 }, { amount: 20, promised: 25 }),
      credit('shop', 'stmt-1', { partition: 0, offset: 12 }, { amount: 30 }),
      // Stored too late: listed and summed here (the CPI leaves it out).
      credit(
        'billing',
        'stmt-3',
        { partition: 2, offset: 1, tooLate: 1 },
        { amount: 6, promised: 6 },
        at - 2 * HOUR,
      ),
    ])
    // stmt-2 above: one identity stored three times; the copy at the earliest Kafka position, by
    // offset then partition as the processor orders them (offset 7), counts.
    const http = createHttpServer(logger)
    registerApiRoutes(http, { clickhouse, catalog: [], live: {} as never, now: () => at + HOUR })
    const get = async (url: string) =>
      // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, each checked by the assertions
      (await http.inject({ method: 'GET', url })).json() as Record<string, any>
    try {
      const walked: { source: string; id: string; amount: number }[] = []
      let cursor: string | null = null
      for (let page = 0; page < 10; page++) {
        const body = await get(
          `/v1/customers/ledger-customer/value?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        )
        walked.push(
          ...body.recent.map(({ source, id, amount }: Record<string, unknown>) => ({ source, id, amount })),
        )
        cursor = body.nextCursor
        if (!cursor) break
      }
      expect(walked).toEqual([
        { source: 'shop', id: 'stmt-1', amount: 30 },
        { source: 'crm', id: 'stmt-1', amount: 20 },
        { source: 'billing', id: 'stmt-1', amount: 10 },
        { source: 'billing', id: 'stmt-2', amount: 4 },
        { source: 'billing', id: 'stmt-3', amount: 6 },
      ])
      const all = await get('/v1/customers/ledger-customer/value')
      expect(all.credits).toBe(5)
      expect(all.totals).toEqual([
        {
          kind: 'savings',
          unit: 'EUR',
          amount: 70,
          promised: 46,
          credits: 5,
          creditsWithPromise: 4,
          metPromise: 2,
          ratio: 0.5,
        },
      ])
      // A range keeps the credits of its times, each as its counted copy.
      const range = await get(
        `/v1/customers/ledger-customer/value?from=${new Date(at - HOUR).toISOString()}&to=${new Date(at).toISOString()}`,
      )
      expect(range.recent.map((one: Record<string, unknown>) => [one.id, one.amount])).toEqual([
        ['stmt-2', 4],
      ])
      // A crafted cursor is the API's 400, not the engine's 500.
      const crafted = Buffer.from(JSON.stringify([1e20, 'billing', 'stmt-1', 'stmt-1'])).toString('base64url')
      const refused = await http.inject({
        method: 'GET',
        url: `/v1/customers/ledger-customer/value?cursor=${crafted}`,
      })
      expect(refused.statusCode).toBe(400)
      expect(refused.json().details.map((detail: { parameter: string }) => detail.parameter)).toEqual([
        'cursor',
      ])
    } finally {
      await http.close()
    }
  })
})
