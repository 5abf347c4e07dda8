import { createHash } from 'node:crypto'
import { createLogger } from '@cpi/logger'
import { exampleEvents } from '@cpi/schemas'
import { describe, expect } from 'vitest'
import { it } from './support/fixtures.ts'
import { startTestGateway, type TestGateway } from './support/gateway.ts'
import { readWholeTopic } from './support/topic-reader.ts'

// Bounded memory under any client (the gateway's part): every test against the real broker.

const logger = createLogger({ service: 'test', level: 'silent' })
const recent = () => new Date(Date.now() - 60_000).toISOString()
const event = (id: string) => ({
  ...structuredClone(exampleEvents['call.answered']),
  id,
  subject: `C-${id}`,
  time: recent(),
})
const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`

async function withGateway(env: Record<string, string>, run: (gateway: TestGateway) => Promise<void>) {
  const gateway = await startTestGateway(logger, env)
  try {
    await run(gateway)
  } finally {
    await gateway.close()
  }
}

describe('ingest gateway limits, against the real broker', () => {
  it('answers 503 with Retry-After at once while the producer queue is at its bound, and produces nothing of those requests', async ({
    kafka,
  }) => {
    // A bound of one byte: one request at a time may wait for Kafka; the others are refused.
    await withGateway({ CPI_INGEST_MAX_QUEUED_BYTES: '1' }, async (gateway) => {
      const answers: {
        ids: string[]
        status: number
        retryAfter: string | null
        ms: number
        error: unknown
      }[] = []
      for (let round = 0; round < 5 && !answers.some((answer) => answer.status === 503); round++) {
        const requests = Array.from({ length: 20 }, async (_, index) => {
          const ids = Array.from({ length: 50 }, (_, item) => `q-${round}-${index}-${item}`)
          const started = performance.now()
          const answer = await gateway.post(ids.map(event), {
            contentType: 'application/cloudevents-batch+json',
          })
          answers.push({
            ids,
            status: answer.status,
            retryAfter: answer.headers.get('retry-after'),
            ms: performance.now() - started,
            error: answer.body.error,
          })
        })
        await Promise.all(requests)
      }
      const refused = answers.filter((answer) => answer.status === 503)
      const accepted = answers.filter((answer) => answer.status === 200)
      expect(refused.length).toBeGreaterThan(0)
      expect(accepted.length).toBeGreaterThan(0)
      expect(answers.every((answer) => answer.status === 200 || answer.status === 503)).toBe(true)
      for (const answer of refused) {
        expect(answer).toMatchObject({ retryAfter: '1', error: 'overloaded' })
        // At once: far below the produce timeout (10 s) a request waiting for Kafka would take.
        expect(answer.ms).toBeLessThan(2000)
      }
      const inKafka = new Set(
        (await readWholeTopic(kafka, gateway.topics.events)).map((message) => JSON.parse(message.value).id),
      )
      expect(inKafka).toEqual(new Set(accepted.flatMap((answer) => answer.ids)))
    })
  })

  it('counts malformed bodies against the key rate: a client sending only garbage gets 429 after its budget', async () => {
    await withGateway({ CPI_INGEST_RATE_LIMIT: '1', CPI_INGEST_RATE_BURST: '3' }, async (gateway) => {
      const statuses: number[] = []
      for (let request = 0; request < 5; request++) statuses.push((await gateway.post('{not json')).status)
      expect(statuses.slice(0, 3)).toEqual([400, 400, 400])
      expect(statuses.slice(3)).toEqual([429, 429])
      const refused = await gateway.post('also not json')
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(refused.body).toMatchObject({ error: 'rate_limited', accepted: 0 })
    })
  })

  it('dead-letters a rejected body too large for a Kafka record truncated, with its size and SHA-256, instead of answering 503', async ({
    kafka,
  }) => {
    await withGateway(
      { CPI_INGEST_MAX_BODY_BYTES: String(3 * 1024 * 1024), CPI_DEAD_LETTER_MAX_RAW_BYTES: '100000' },
      async (gateway) => {
        // 2 MiB of broken JSON (over the broker's 1 MiB record limit), and a 1.5 MiB NDJSON event.
        const garbage = `{"id": "big", "pad": "${'é'.repeat(1024 * 1024)}`
        const malformed = await gateway.post(garbage)
        expect(malformed).toMatchObject({ status: 400, body: { error: 'malformed_json' } })
        const huge = JSON.stringify({ ...event('huge-1'), pad: 'y'.repeat(1_500_000) })
        const tooLarge = await gateway.post(huge, { contentType: 'application/x-ndjson' })
        expect(tooLarge).toMatchObject({
          status: 422,
          body: { accepted: 0, rejected: [{ index: 0, reason: 'too_large' }] },
        })

        const letters = await readWholeTopic(kafka, gateway.topics.deadLetter)
        expect(letters).toHaveLength(2)
        for (const [sent, reason] of [
          [garbage, 'malformed_json'],
          [huge, 'too_large'],
        ] as const) {
          const letter = letters.find((message) => message.headers['cpi-reject-reason'] === reason)
          expect(letter?.headers).toMatchObject({
            'cpi-raw-bytes': String(Buffer.byteLength(sent)),
            'cpi-raw-sha256': createHash('sha256').update(sent).digest('hex'),
          })
          const value = Buffer.from(letter?.value ?? '')
          expect(value.byteLength).toBeLessThanOrEqual(100_000)
          expect(value.byteLength).toBeGreaterThan(99_000)
          expect(sent.startsWith(value.toString('utf8'))).toBe(true)
          expect(letter?.headers['cpi-reject-errors']).toMatch(/truncated to \d+ of \d+ bytes/)
        }
      },
    )
  })

  it('answers deeply nested JSON (100,000 nested arrays) in every mode with 400 or 422 naming the nesting, never 500', async ({
    kafka,
  }) => {
    await withGateway({ CPI_INGEST_MAX_BODY_BYTES: String(1024 * 1024) }, async (gateway) => {
      const nested = deep(100_000)
      const eventWith = (id: string) => `{"specversion":"1.0","id":"${id}","data":${nested}}`
      const structured = await gateway.post(eventWith('deep-1'))
      const batch = await gateway.post(`[${JSON.stringify(event('ok-1'))},${eventWith('deep-2')}]`, {
        contentType: 'application/cloudevents-batch+json',
      })
      const ndjson = await gateway.post(eventWith('deep-3'), { contentType: 'application/x-ndjson' })
      const binary = await gateway.post(nested, {
        contentType: 'application/json',
        headers: { 'ce-specversion': '1.0', 'ce-id': 'deep-4', 'ce-type': 'call.answered' },
      })
      const bare = await gateway.post(nested)
      expect({
        structured: structured.status,
        batch: batch.status,
        ndjson: ndjson.status,
        binary: binary.status,
        bare: bare.status,
      }).toEqual({ structured: 422, batch: 207, ndjson: 422, binary: 422, bare: 422 })
      const tooDeep = {
        reason: 'too_deep',
        errors: [{ message: expect.stringMatching(/nesting of at most 12/) }],
      }
      expect(structured).toMatchObject({ status: 422, body: { rejected: [{ id: 'deep-1', ...tooDeep }] } })
      expect(batch).toMatchObject({
        status: 207,
        body: { accepted: 1, rejected: [{ index: 1, ...tooDeep }] },
      })
      expect(ndjson).toMatchObject({ status: 422, body: { rejected: [tooDeep] } })
      expect(binary).toMatchObject({ status: 422, body: { rejected: [{ id: 'deep-4', ...tooDeep }] } })
      expect(bare.body).toMatchObject({ rejected: [tooDeep] })

      const letters = await readWholeTopic(kafka, gateway.topics.deadLetter)
      const deepLetters = letters.filter((message) => message.headers['cpi-reject-reason'] === 'too_deep')
      expect(deepLetters.map((message) => message.headers['cpi-event-id'] ?? '(none)').sort()).toEqual([
        '(none)',
        'deep-1',
        'deep-2',
        'deep-3',
        'deep-4',
      ])
      // The raw payload is kept as received.
      expect(deepLetters.find((message) => message.headers['cpi-event-id'] === 'deep-2')?.value).toBe(
        eventWith('deep-2'),
      )
    })
  })
})
