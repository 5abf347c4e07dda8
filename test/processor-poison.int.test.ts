// Odd-but-valid input must never stall a partition: each poison message becomes a dead letter
// with its reason, and the normal event behind it on the same partition is stored and counted
// within seconds. Also: event identity is (source, id), first accepted wins, and one producer's
// far-future clock cannot move a partition's watermark. Against the real broker and engine.
import { createHash } from 'node:crypto'
import { type ClickHouse, listRejectedEvents } from '@cpi/clickhouse'
import { ensureTopics } from '@cpi/kafka'
import type { Kafka } from 'kafkajs'
import { describe, expect } from 'vitest'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestProcessor } from './support/processor.ts'

const MINUTE = 60_000

/** A topic of one partition that, like a broker configured so, keeps any record timestamp. */
async function singlePartitionTopics(kafka: Kafka) {
  const events = uniqueName('events')
  const deadLetter = uniqueName('dlq')
  await ensureTopics(kafka, [
    {
      topic: events,
      numPartitions: 1,
      configEntries: [{ name: 'message.timestamp.after.max.ms', value: '9223372036854775807' }],
    },
    { topic: deadLetter, numPartitions: 1 },
  ])
  return { events, deadLetter }
}

/** The rejections of one topic (the file's tests share a database). */
const rejectionsOf = async (clickhouse: ClickHouse, topic: string) =>
  (await listRejectedEvents(clickhouse)).filter((row) => row.sourceTopic === topic)

/** Sends records one request each, in order, to the one partition (their own timestamps kept). */
async function sendInOrder(kafka: Kafka, topic: string, records: { value: string; timestamp?: string }[]) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    for (const record of records) {
      await producer.send({ topic, messages: [{ key: 'one-partition', ...record }] })
    }
  } finally {
    await producer.disconnect()
  }
}

const quoteRequested = (subject: string, time: number, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: `${subject}-requested`,
  source: '/quoting/web',
  type: 'quote.requested',
  time: new Date(time).toISOString(),
  subject,
  data: { customerId: `cust-${subject}`, customerType: 'consumer', channel: 'web' },
  ...extra,
})
const quoteIssued = (subject: string, time: number, extra: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: `${subject}-issued`,
  source: '/quoting/web',
  type: 'quote.issued',
  time: new Date(time).toISOString(),
  subject,
  data: { amount: 100, currency: 'EUR' },
  ...extra,
})
/** JSON text with one string replaced by raw JSON (a lone surrogate escape JSON.stringify would never write). */
const withRaw = (event: object, placeholder: string, raw: string) =>
  JSON.stringify(event).replace(JSON.stringify(placeholder), raw)

describe('processor: no poison input stalls a partition (real broker and engine)', () => {
  it('dead-letters lone surrogates, unusable record timestamps, rows the engine refuses and records near the size limit, and counts the next event within seconds', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const topics = await singlePartitionTopics(kafka)
    // A constraint the real engine enforces stands for any row content it refuses.
    await clickhouse.writer.command({
      query: `ALTER TABLE ${clickhouse.database}.events ADD CONSTRAINT no_refused_source CHECK source != '/refused/by-engine'`,
    })
    const { processor } = await startTestProcessor({ kafka, clickhouse, logger }, topics)
    try {
      const now = Date.now()
      // Sized so that the record fits the broker's default limit (1,048,588 bytes a batch) with
      // under 200 bytes to spare: the same bytes with dead-letter headers would not.
      const hugeEvent = quoteRequested('Q-huge', now - MINUTE, { pad: '' })
      const huge = JSON.stringify({
        ...hugeEvent,
        pad: 'x'.repeat(1_048_400 - JSON.stringify(hugeEvent).length),
      })
      await sendInOrder(kafka, topics.events, [
        // A lone surrogate in the subject, then in a data string, then in the id.
        {
          value: withRaw(
            quoteRequested('placeholder-subject', now - MINUTE),
            'placeholder-subject',
            '"Q-\\ud800"',
          ),
        },
        {
          value: withRaw(
            quoteRequested('Q-surrogate-data', now - MINUTE, {
              data: { customerId: 'c', customerType: 'consumer', product: 'placeholder' },
            }),
            'placeholder',
            '"car \\udfff"',
          ),
        },
        {
          value: withRaw(
            quoteRequested('Q-surrogate-id', now - MINUTE, { id: 'placeholder' }),
            'placeholder',
            '"\\ud83d"',
          ),
        },
        // A record timestamp no JavaScript date can hold, on an otherwise valid event.
        {
          value: JSON.stringify(quoteRequested('Q-odd-timestamp', now - MINUTE)),
          timestamp: '9223372036854775807',
        },
        // A valid event whose row the engine refuses.
        {
          value: JSON.stringify(quoteRequested('Q-refused', now - MINUTE, { source: '/refused/by-engine' })),
        },
        // A record near the broker's size limit: its dead letter, headers added, would not fit.
        { value: huge },
        // Then a normal interaction, answered in 2 s: good for fast_quote.
        { value: JSON.stringify(quoteRequested('Q-normal', now - MINUTE)) },
        { value: JSON.stringify(quoteIssued('Q-normal', now - MINUTE + 2000)) },
      ])

      const outcomeOf = async (subject: string) => {
        const result = await clickhouse.reader.query({
          query: `SELECT state FROM ${clickhouse.database}.outcomes FINAL WHERE cpi = 'fast_quote' AND subject = {subject:String}`,
          query_params: { subject },
          format: 'JSONEachRow',
        })
        return (await result.json<{ state: string }>())[0]?.state
      }
      // Within seconds, not after a retry loop that never ends.
      await expect.poll(() => outcomeOf('Q-normal'), { timeout: 15_000, interval: 200 }).toBe('good')
      const storedSubjects = async () => {
        const stored = await clickhouse.reader.query({
          query: `SELECT subject FROM ${clickhouse.database}.events ORDER BY subject`,
          format: 'JSONEachRow',
        })
        return (await stored.json<{ subject: string }>()).map((row) => row.subject)
      }
      // The odd record timestamp was judged against the wall clock: a valid event, kept.
      await expect
        .poll(storedSubjects, { timeout: 15_000, interval: 200 })
        .toEqual(['Q-normal', 'Q-normal', 'Q-odd-timestamp'])

      await expect
        .poll(() => rejectionsOf(clickhouse, topics.events).then((rows) => rows.length), { timeout: 15_000 })
        .toBe(5)
      const rejected = await rejectionsOf(clickhouse, topics.events)
      const bySubject = (subject: string) => rejected.find((row) => row.subject === subject)
      expect(
        rejected
          .filter((row) => row.reason === 'invalid_text')
          .map((row) => row.errors[0]?.path)
          .sort(),
      ).toEqual(['data.product', 'id', 'subject'])
      expect(bySubject('Q-surrogate-data')?.errors[0]?.message).toBe(
        'expected text of well-formed Unicode, got a lone surrogate U+DFFF at character 4',
      )
      // The raw payload is kept as it came, escape and all.
      expect(bySubject('Q-surrogate-data')?.raw).toContain('"car \\udfff"')
      const refused = bySubject('Q-refused')
      expect(refused).toMatchObject({
        origin: 'processor',
        reason: 'storage_rejected',
        eventId: 'Q-refused-requested',
      })
      expect(refused?.errors[0]?.message).toMatch(/no_refused_source/)
      expect(JSON.parse(refused?.raw ?? '{}')).toMatchObject({ source: '/refused/by-engine' })
      // No CPI counts an interaction whose only event the store refused.
      const counted = await clickhouse.reader.query({
        query: `SELECT cpi, state FROM ${clickhouse.database}.outcomes_now WHERE subject = 'Q-refused'`,
        format: 'JSONEachRow',
      })
      expect(await counted.json()).toEqual([])
      const tooLarge = rejected.find((row) => row.reason === 'too_large')
      expect(tooLarge?.raw).toBe(huge.slice(0, 256 * 1024))
      expect(tooLarge?.errors.at(-1)?.message).toBe(
        `raw payload truncated to 262144 of ${huge.length} bytes (sha256 ${createHash('sha256').update(huge).digest('hex')})`,
      )
    } finally {
      await processor.stop()
    }
  })

  it('keeps the first accepted copy of a (source, id): a duplicate is dropped, other content is a counted conflict, another source is another event', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const topics = await singlePartitionTopics(kafka)
    const { processor, registry } = await startTestProcessor({ kafka, clickhouse, logger }, topics, {
      CPI_ALLOWED_LATENESS_MS: '600000',
    })
    try {
      const now = Date.now()
      const start = now - 60 * MINUTE
      await sendInOrder(kafka, topics.events, [
        // Answered in 5 s: good.
        { value: JSON.stringify(quoteRequested('Q-1', start)) },
        { value: JSON.stringify(quoteIssued('Q-1', start + 5000)) },
        // The same identity, other content (answered after an hour): a conflict, not the answer.
        { value: JSON.stringify(quoteIssued('Q-1', start + 60 * MINUTE)) },
        // The same identity and content, keys in another order: a plain duplicate.
        {
          value: JSON.stringify(
            Object.fromEntries(
              Object.entries({
                ...quoteIssued('Q-1', start + 5000),
                data: { currency: 'EUR', amount: 100 },
              }).reverse(),
            ),
          ),
        },
        // The same id from another source: another event of the interaction.
        { value: JSON.stringify(quoteIssued('Q-1', start + 7000, { source: '/quoting/agent' })) },
        // The clock moves an hour on (past the allowed lateness), then the on-time copy comes again, late.
        { value: JSON.stringify(quoteRequested('Q-2', now)) },
        { value: JSON.stringify(quoteIssued('Q-1', start + 5000)) },
        // A marker behind everything.
        { value: JSON.stringify(quoteIssued('Q-2', now + 1000)) },
      ])
      const rows = async () => {
        const result = await clickhouse.reader.query({
          query: `SELECT source, id, too_late, JSONExtractString(payload, 'time') AS event_time
                  FROM ${clickhouse.database}.events WHERE subject = 'Q-1' ORDER BY kafka_offset`,
          format: 'JSONEachRow',
        })
        return result.json<{ source: string; id: string; too_late: number; event_time: string }>()
      }
      await expect.poll(async () => (await rows()).length, { timeout: 15_000 }).toBe(3)
      const state = async (subject: string) => {
        const result = await clickhouse.reader.query({
          query: `SELECT state, latency_ms FROM ${clickhouse.database}.outcomes FINAL WHERE cpi = 'fast_quote' AND subject = {subject:String}`,
          query_params: { subject },
          format: 'JSONEachRow',
        })
        return (await result.json<{ state: string; latency_ms: number }>())[0]
      }
      await expect.poll(() => state('Q-2').then((row) => row?.state), { timeout: 15_000 }).toBe('good')
      // Merged or not, one copy per identity: the first, on time.
      await clickhouse.writer.command({ query: `OPTIMIZE TABLE ${clickhouse.database}.events FINAL` })
      expect(await rows()).toEqual([
        {
          source: '/quoting/web',
          id: 'Q-1-requested',
          too_late: 0,
          event_time: new Date(start).toISOString(),
        },
        {
          source: '/quoting/web',
          id: 'Q-1-issued',
          too_late: 0,
          event_time: new Date(start + 5000).toISOString(),
        },
        {
          source: '/quoting/agent',
          id: 'Q-1-issued',
          too_late: 0,
          event_time: new Date(start + 7000).toISOString(),
        },
      ])
      expect(await state('Q-1')).toEqual({ state: 'good', latency_ms: 5000 })

      await expect
        .poll(() => rejectionsOf(clickhouse, topics.events).then((list) => list.length), { timeout: 15_000 })
        .toBe(1)
      const [conflict] = await rejectionsOf(clickhouse, topics.events)
      expect(conflict).toMatchObject({
        reason: 'conflicting_duplicate',
        eventId: 'Q-1-issued',
        sourceOffset: 2,
      })
      expect(conflict?.errors[0]?.message).toBe(
        'expected the content of the first copy of the event with source "/quoting/web" and id "Q-1-issued" (partition 0, offset 1), got other content',
      )
      // A group is counted once all of it is durable, a moment after its outcome rows are
      // visible (its rollup minutes are written in between): wait for the count.
      const metrics = () => registry.getSingleMetricAsString('cpi_processor_events_total')
      await expect.poll(metrics, { timeout: 15_000 }).toMatch(/outcome="duplicate"[^\n]* 2/)
      expect(await metrics()).toMatch(/outcome="conflict"[^\n]* 1/)
    } finally {
      await processor.stop()
    }
  })

  it("caps a producer's far-future clock: the watermark stays near real time and open interactions stay pending", async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const topics = await singlePartitionTopics(kafka)
    const { processor, registry } = await startTestProcessor({ kafka, clickhouse, logger }, topics, {
      CPI_MAX_CLOCK_SKEW_MS: '60000',
    })
    try {
      const now = Date.now()
      const nextYear = now + 365 * 24 * 60 * MINUTE
      await sendInOrder(kafka, topics.events, [
        // A business quote (24 h expectation), requested a minute ago and not answered yet.
        {
          value: JSON.stringify(
            quoteRequested('Q-open', now - MINUTE, {
              data: { customerId: 'c', customerType: 'business', channel: 'web' },
            }),
          ),
        },
        // A producer whose clock says next year, on its records and its events.
        { value: JSON.stringify(quoteRequested('Q-future', nextYear)), timestamp: String(nextYear) },
        // Within the 5 minutes of allowed future, yet beyond the skew: kept, the clock capped.
        { value: JSON.stringify(quoteRequested('Q-soon', now + 4 * MINUTE)) },
      ])
      await expect
        .poll(
          () =>
            rejectionsOf(clickhouse, topics.events).then((rows) =>
              rows.map((row) => [row.subject, row.reason]),
            ),
          {
            timeout: 15_000,
          },
        )
        .toEqual([['Q-future', 'time_in_future']])
      const watermark = async () => {
        const result = await clickhouse.reader.query({
          query: `SELECT toUnixTimestamp64Milli(watermark) AS at FROM ${clickhouse.database}.watermarks FINAL WHERE topic = {topic:String}`,
          query_params: { topic: topics.events },
          format: 'JSONEachRow',
        })
        return Number((await result.json<{ at: string }>())[0]?.at ?? 0)
      }
      const stored = async () => {
        const result = await clickhouse.reader.query({
          query: `SELECT count() AS n FROM ${clickhouse.database}.events WHERE subject = 'Q-soon'`,
          format: 'JSONEachRow',
        })
        return Number((await result.json<{ n: string }>())[0]?.n)
      }
      await expect.poll(stored, { timeout: 15_000 }).toBe(1)
      await expect.poll(watermark, { timeout: 15_000 }).toBeGreaterThan(now)
      // Never beyond the wall clock plus the allowed skew, though an event says four minutes on.
      expect(await watermark()).toBeLessThanOrEqual(Date.now() + MINUTE)
      const result = await clickhouse.reader.query({
        query: `SELECT state FROM ${clickhouse.database}.outcomes FINAL WHERE cpi = 'fast_quote' AND subject = 'Q-open'`,
        format: 'JSONEachRow',
      })
      expect(await result.json()).toEqual([{ state: 'pending' }])
      const clamps = await registry.getSingleMetricAsString('cpi_clock_clamped_total')
      expect(clamps).toMatch(/what="record_timestamp"[^\n]* 1/)
      expect(clamps).toMatch(/what="event_time"[^\n]* 1/)
    } finally {
      await processor.stop()
    }
  })
})
