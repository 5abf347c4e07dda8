import { exampleEvents } from '@cpi/schemas'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { it } from './support/fixtures.ts'
import { startTestGateway, TEST_KEY, type TestGateway } from './support/gateway.ts'

const RATE_TEST_KEY = 'rate-limit-test-key-0123456789'
const READ_TOKEN = 'read-token-not-for-ingest-0123456789'

import { readWholeTopic } from './support/topic-reader.ts'

const recent = () => new Date(Date.now() - 60_000).toISOString()
const event = (type: keyof typeof exampleEvents, id: string, subject = `S-${id}`) => ({
  ...structuredClone(exampleEvents[type]),
  id,
  subject,
  time: recent(),
})

describe('ingest gateway over HTTP, against the real broker', () => {
  let gateway: TestGateway

  beforeAll(async () => {
    const { createLogger } = await import('@cpi/logger')
    gateway = await startTestGateway(createLogger({ service: 'test', level: 'silent' }), {
      CPI_INGEST_MAX_BODY_BYTES: '65536',
      // A slow refill (1 event/s) so the rate-limit test does not depend on how fast CI runs;
      // that test uses a key of its own, so the other tests keep their budget.
      CPI_INGEST_KEYS: `${TEST_KEY},${RATE_TEST_KEY}`,
      // A key of another scope: valid, but not for ingest.
      CPI_READ_TOKENS: READ_TOKEN,
      CPI_INGEST_RATE_LIMIT: '1',
      CPI_INGEST_RATE_BURST: '300',
    })
  })
  afterAll(async () => gateway.close())

  it('answers 401 without a Bearer key or with an unknown key, 403 for a key without the ingest scope, echoing none', async () => {
    const none = await gateway.post(event('call.queued', 'a1'), { key: null })
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="cpi-ingest"')
    const wrong = await gateway.post(event('call.queued', 'a2'), { key: 'not-the-key-but-long-enough' })
    expect(wrong.status).toBe(401)
    expect(wrong.headers.get('www-authenticate')).toBe('Bearer realm="cpi-ingest", error="invalid_token"')
    expect(JSON.stringify(wrong.body)).not.toContain('not-the-key')
    const reader = await gateway.post(event('call.queued', 'a4'), { key: READ_TOKEN })
    expect(reader).toMatchObject({
      status: 403,
      body: { error: 'forbidden', message: 'this key lacks the scope ingest', accepted: 0 },
    })
    expect(JSON.stringify(reader.body)).not.toContain(READ_TOKEN)
    const basic = await gateway.post(event('call.queued', 'a3'), {
      headers: { authorization: 'Basic eDp5' },
      key: null,
    })
    expect(basic).toMatchObject({ status: 401, body: { message: expect.stringContaining('another scheme') } })
  })

  it('answers 415 for a media type it does not take, naming the ones it does', async () => {
    const text = await gateway.post('hello', { contentType: 'text/plain' })
    expect(text).toMatchObject({ status: 415, body: { error: 'unsupported_media_type' } })
    expect(String(text.body.message)).toContain('application/cloudevents+json')
    expect((await gateway.post(event('call.queued', 'b1'), { contentType: 'application/json' })).status).toBe(
      415,
    )
  })

  it('answers 400 for malformed JSON with the position', async () => {
    const bad = await gateway.post('{"specversion": "1.0",\n "id": }')
    expect(bad).toEqual({
      status: 400,
      headers: expect.anything(),
      body: {
        error: 'malformed_json',
        message: 'expected valid JSON, got "}" at line 2, column 8 (offset 30)',
        accepted: 0,
      },
    })
  })

  it('answers 413 for a body over the limit', async () => {
    const big = { ...event('quote.declined', 'c1'), data: { reason: 'r', pad: 'x'.repeat(70_000) } }
    expect(await gateway.post(big)).toMatchObject({ status: 413, body: { error: 'payload_too_large' } })
  })

  it('answers 429 with Retry-After past the key rate, accepting nothing of that request', async () => {
    const batch = Array.from({ length: 301 }, (_, index) => event('call.answered', `rl-${index}`))
    const post = (events: unknown[]) =>
      gateway.post(events, { contentType: 'application/cloudevents-batch+json', key: RATE_TEST_KEY })
    const refused = await post(batch)
    expect(refused.status).toBe(429)
    expect(refused.body).toMatchObject({ error: 'rate_limited', accepted: 0 })
    expect(refused.body.message).toMatch(/split the request/)
    expect((await post(batch.slice(0, 250))).status).toBe(200)
    expect((await post(batch.slice(250, 300))).status).toBe(200)
    const over = await post(batch.slice(0, 100))
    expect(over.status).toBe(429)
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
  })

  it('takes one structured event, NDJSON and the binary mode; every accepted event lands in Kafka keyed by subject', async ({
    kafka,
  }) => {
    const single = await gateway.post(event('quote.requested', 'm1', 'Q-1'))
    expect(single).toMatchObject({ status: 200, body: { accepted: 1, rejected: [] } })

    const ndjson = [event('call.queued', 'm2', 'C-1'), event('call.answered', 'm3', 'C-1')]
      .map((value) => JSON.stringify(value))
      .join('\n')
    const lines = await gateway.post(`${ndjson}\n{"broken": \n`, { contentType: 'application/x-ndjson' })
    expect(lines).toMatchObject({
      status: 207,
      body: {
        accepted: 2,
        rejected: [
          {
            index: 2,
            reason: 'malformed_json',
            errors: [{ path: '', message: expect.stringMatching(/^line 3: /) }],
          },
        ],
      },
    })

    const binary = await gateway.post(JSON.stringify({ itemsDelivered: 3 }), {
      contentType: 'application/json',
      headers: {
        'ce-specversion': '1.0',
        'ce-id': 'm4',
        'ce-source': '%2Flogistics%2Fcarrier',
        'ce-type': 'delivery.delivered',
        'ce-time': recent(),
        'ce-subject': 'D-1',
      },
    })
    expect(binary).toMatchObject({ status: 200, body: { accepted: 1 } })

    const messages = (await readWholeTopic(kafka, gateway.topics.events)).filter((message) =>
      ['m1', 'm2', 'm3', 'm4'].includes(JSON.parse(message.value).id),
    )
    expect(messages.map((message) => [JSON.parse(message.value).id, message.key]).sort()).toEqual([
      ['m1', 'Q-1'],
      ['m2', 'C-1'],
      ['m3', 'C-1'],
      ['m4', 'D-1'],
    ])
    const binaryEvent = JSON.parse(messages.find((message) => message.key === 'D-1')?.value ?? '{}')
    expect(binaryEvent).toMatchObject({ source: '/logistics/carrier', data: { itemsDelivered: 3 } })
    // One subject, one partition.
    const partitionsOfC1 = new Set(
      messages.filter((message) => message.key === 'C-1').map((message) => message.partition),
    )
    expect(partitionsOfC1.size).toBe(1)
    expect(
      messages.every((message) => message.headers['content-type'] === 'application/cloudevents+json'),
    ).toBe(true)
  })

  it('answers 422 when every event of a request is invalid, and 207 with each reason when some are', async () => {
    const invalid = {
      ...event('delivery.scheduled', 'x1'),
      data: { customerId: 'c', promisedBy: 'soon', items: 'three' },
    }
    const none = await gateway.post([invalid], { contentType: 'application/cloudevents-batch+json' })
    expect(none).toMatchObject({
      status: 422,
      body: {
        accepted: 0,
        rejected: [
          {
            index: 0,
            id: 'x1',
            reason: 'invalid_field',
            errors: [
              {
                path: 'data.promisedBy',
                message: expect.stringMatching(/^expected an RFC 3339 date-time.*got "soon"$/),
              },
              { path: 'data.items', message: 'expected integer >= 1, got "three"' },
            ],
          },
        ],
      },
    })
    const future = { ...event('call.answered', 'x2'), time: new Date(Date.now() + 3_600_000).toISOString() }
    const mixed = await gateway.post([event('call.answered', 'x3'), future, 'not an event'], {
      contentType: 'application/cloudevents-batch+json',
    })
    expect(mixed).toMatchObject({
      status: 207,
      body: {
        accepted: 1,
        rejected: [
          { index: 1, id: 'x2', reason: 'time_in_future', errors: [{ path: 'time' }] },
          {
            index: 2,
            reason: 'not_an_object',
            errors: [{ path: '', message: 'expected a JSON object, got "not an event"' }],
          },
        ],
      },
    })
  })

  it('counts requests by status and events by outcome on /metrics', async () => {
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(metrics).toMatch(/cpi_ingest_requests_total\{status="401"[^}]*\} 3/)
    expect(metrics).toMatch(/cpi_ingest_requests_total\{status="403"[^}]*\} 1/)
    expect(metrics).toMatch(/cpi_rejected_events_total\{origin="ingest",reason="time_in_future"[^}]*\} 1/)
  })
})
