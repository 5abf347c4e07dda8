import { type BatchingProducer, ProducerQueueFullError } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { decodeDeadLetterHeaders, exampleEvents } from '@cpi/schemas'
import type { Message } from 'kafkajs'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import type { DecodedBody, RequestItem } from './decode-body.ts'
import { createIngestService } from './ingest-service.ts'
import { TokenBuckets } from './token-bucket.ts'

const NOW = Date.parse('2026-12-31T00:00:00Z')
const topics = { events: 'events', deadLetter: 'dlq' }

/** A producer that records what it was given, and answers as told. */
function fakeProducer(behaviour: 'ack' | 'full' | 'error' | 'hang' = 'ack') {
  const sent: { topic: string; messages: Message[] }[][] = []
  const producer = {
    sendAll(batches: { topic: string; messages: Message[] }[]) {
      sent.push(batches)
      if (behaviour === 'full') return Promise.reject(new ProducerQueueFullError('64 messages queued'))
      if (behaviour === 'error') return Promise.reject(new Error('broker gone'))
      if (behaviour === 'hang') return new Promise(() => undefined)
      return Promise.resolve()
    },
  } as unknown as BatchingProducer
  return { producer, sent }
}

function service(
  options: { behaviour?: 'ack' | 'full' | 'error' | 'hang'; rate?: number; burst?: number } = {},
) {
  const registry = new Registry()
  const fake = fakeProducer(options.behaviour)
  const ingest = createIngestService({
    producer: fake.producer,
    topics,
    limits: {},
    rateLimiter: new TokenBuckets(options.rate ?? 1000, options.burst ?? 2000),
    produceTimeoutMs: 50,
    deadLetterMaxRawBytes: 1024,
    registry,
    logger: createLogger({ service: 'test', level: 'silent' }),
    now: () => NOW,
  })
  const metric = async (name: string) =>
    Object.fromEntries(
      ((await registry.getSingleMetric(name)?.get())?.values ?? [])
        .filter((value) => !(value as { metricName?: string }).metricName?.endsWith('_bucket'))
        .map((value) => [
          `${(value as { metricName?: string }).metricName ?? name}${JSON.stringify(value.labels)}`,
          value.value,
        ]),
    )
  return { ingest, registry, metric, ...fake }
}

const items = (...values: unknown[]): DecodedBody => ({
  kind: 'items',
  mode: 'batch',
  items: values.map((value, index): RequestItem => ({ index, raw: JSON.stringify(value), value })),
})

const good = exampleEvents['quote.requested']
const bad = { ...exampleEvents['call.answered'], time: 'yesterday' }

describe('the ingest service', () => {
  it('produces valid events keyed by subject and answers 200', async () => {
    const { ingest, sent, metric } = service()
    const answer = await ingest.handle(items(good), 'sender-1')
    expect(answer).toEqual({ status: 200, body: { accepted: 1, rejected: [] } })
    expect(sent).toEqual([
      [
        {
          topic: 'events',
          messages: [
            {
              key: good.subject,
              value: expect.any(String),
              headers: { 'content-type': 'application/cloudevents+json', ce_type: good.type },
            },
          ],
        },
        { topic: 'dlq', messages: [] },
      ],
    ])
    expect(JSON.parse(String(sent[0]?.[0]?.messages[0]?.value))).toEqual(good)
    expect(await metric('cpi_ingest_requests_total')).toEqual({
      'cpi_ingest_requests_total{"status":"200"}': 1,
    })
    expect(await metric('cpi_ingest_events_total')).toMatchObject({
      'cpi_ingest_events_total{"outcome":"accepted"}': 1,
      'cpi_ingest_events_total{"outcome":"rejected"}': 0,
    })
    expect(await metric('cpi_ingest_produce_seconds')).toMatchObject({
      'cpi_ingest_produce_seconds_count{}': 1,
    })
  })

  it('dead-letters the invalid events with what is known of them, and answers 207 or 422', async () => {
    const { ingest, sent, metric } = service()
    const mixed = await ingest.handle(items(good, bad), 'sender-1')
    expect(mixed.status).toBe(207)
    expect(mixed.body).toMatchObject({
      accepted: 1,
      rejected: [
        {
          index: 1,
          id: bad.id,
          reason: expect.any(String),
          errors: [expect.objectContaining({ path: 'time' })],
        },
      ],
    })
    const letter = sent[0]?.[1]?.messages[0] as Message
    expect(letter.key).toBe(bad.subject)
    expect(decodeDeadLetterHeaders(letter.headers ?? {})).toMatchObject({
      origin: 'ingest',
      sender: 'sender-1',
      eventId: bad.id,
      eventType: bad.type,
      subject: bad.subject,
      rejectedAt: new Date(NOW).toISOString(),
    })
    const none = await ingest.handle(items(bad), 'sender-1')
    expect(none.status).toBe(422)
    expect(await metric('cpi_ingest_requests_total')).toEqual({
      'cpi_ingest_requests_total{"status":"207"}': 1,
      'cpi_ingest_requests_total{"status":"422"}': 1,
    })
    expect(await metric('cpi_rejected_events_total')).toMatchObject({
      [`cpi_rejected_events_total{"origin":"ingest","reason":"${(none.body.rejected as { reason: string }[])[0]?.reason}"}`]: 2,
    })
  })

  it('rejects a too-deep item as it is and keeps an NDJSON line its own parse error', async () => {
    const { ingest } = service()
    const answer = await ingest.handle(
      {
        kind: 'items',
        mode: 'ndjson',
        items: [
          {
            index: 0,
            raw: '{"id":"deep-1"}',
            value: { id: 'deep-1', type: 'x'.repeat(300) },
            tooDeep: { path: 'data.a', message: 'expected at most 12 levels' },
          },
          { index: 1, raw: '{"id":', parseError: 'unexpected end at offset 6' },
        ],
      },
      'sender-1',
    )
    expect(answer).toEqual({
      status: 422,
      body: {
        accepted: 0,
        rejected: [
          {
            index: 0,
            id: 'deep-1',
            reason: 'too_deep',
            errors: [{ path: 'data.a', message: 'expected at most 12 levels' }],
          },
          {
            index: 1,
            reason: 'malformed_json',
            errors: [{ path: '', message: 'unexpected end at offset 6' }],
          },
        ],
      },
    })
  })

  it('answers 400 to a malformed body and keeps it as a dead letter', async () => {
    const { ingest, sent, metric } = service()
    const answer = await ingest.handle({ kind: 'malformed', message: 'not JSON', raw: '{oops' }, 'sender-1')
    expect(answer).toEqual({
      status: 400,
      body: { error: 'malformed_json', message: 'not JSON', accepted: 0 },
    })
    expect(sent[0]?.[0]).toEqual({ topic: 'events', messages: [] })
    expect(sent[0]?.[1]?.messages).toHaveLength(1)
    expect(await metric('cpi_rejected_events_total')).toEqual({
      'cpi_rejected_events_total{"origin":"ingest","reason":"malformed_json"}': 1,
    })
  })

  it('answers 415 to an unsupported body without producing', async () => {
    const { ingest, sent } = service()
    const answer = await ingest.handle({ kind: 'unsupported', message: 'text/plain' }, 'sender-1')
    expect(answer).toEqual({ status: 415, body: { error: 'unsupported_media_type', message: 'text/plain' } })
    expect(sent).toEqual([])
  })

  it('answers 429 over the rate or the burst, counting every body', async () => {
    const { ingest, sent } = service({ rate: 1, burst: 2 })
    expect((await ingest.handle(items(good, good), 'sender-1')).status).toBe(200)
    const tooSoon = await ingest.handle({ kind: 'malformed', message: 'x', raw: 'x' }, 'sender-1')
    expect(tooSoon).toMatchObject({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { error: 'rate_limited' },
    })
    const tooMany = await ingest.handle(items(good, good, good), 'sender-2')
    expect(tooMany).toMatchObject({ status: 429, headers: { 'retry-after': '60' } })
    expect(tooMany.body.message).toMatch(/split the request/)
    expect(sent).toHaveLength(1)
  })

  it('answers 503 when the producer is full, fails or does not acknowledge in time', async () => {
    const full = await service({ behaviour: 'full' }).ingest.handle(items(good), 's')
    expect(full).toMatchObject({
      status: 503,
      headers: { 'retry-after': '1' },
      body: { error: 'overloaded' },
    })
    const down = service({ behaviour: 'error' })
    const error = await down.ingest.handle(items(good), 's')
    expect(error).toMatchObject({
      status: 503,
      headers: { 'retry-after': '5' },
      body: { error: 'kafka_unavailable' },
    })
    expect(error.body.message).toMatch(/broker gone/)
    expect(await down.metric('cpi_ingest_requests_total')).toEqual({
      'cpi_ingest_requests_total{"status":"503"}': 1,
    })
    expect(await down.metric('cpi_ingest_events_total')).toEqual({})
    const slow = await service({ behaviour: 'hang' }).ingest.handle(items(good), 's')
    expect(slow.body.message).toMatch(/did not acknowledge within 50 ms/)
    const malformed = await service({ behaviour: 'error' }).ingest.handle(
      { kind: 'malformed', message: 'x', raw: 'x' },
      's',
    )
    expect(malformed.status).toBe(503)
  })

  it('counts requests refused before their body was read', async () => {
    const { ingest, metric } = service()
    ingest.countRefused(401)
    ingest.countRefused(401)
    expect(await metric('cpi_ingest_requests_total')).toEqual({
      'cpi_ingest_requests_total{"status":"401"}': 2,
    })
  })
})
