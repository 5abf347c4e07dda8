// Late data revises, it is not dropped (docs/architecture.md, principle 3): a day and more of history sent at once, in
// any order and with duplicates, then live events, gives exactly the CPIs the events say — each
// interaction's expected outcome is written down as it is made, not computed by the product's
// rules — and one source's backlog never pushes another's events out. Real broker and engine.
import { type ClickHouse, countEvents } from '@cpi/clickhouse'
import { BatchingProducer, ensureTopics } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import type { Kafka } from 'kafkajs'
import { describe, expect } from 'vitest'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestGateway } from './support/gateway.ts'
import { startTestProcessor } from './support/processor.ts'

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

interface Event {
  specversion: '1.0'
  id: string
  source: string
  type: string
  time: string
  subject: string
  data: Record<string, unknown>
}

const event = (
  source: string,
  type: string,
  subject: string,
  time: number,
  data: Record<string, unknown> = {},
): Event => ({
  specversion: '1.0',
  id: `${subject}-${type}`,
  source,
  type,
  time: new Date(time).toISOString(),
  subject,
  data,
})

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const copy = [...items]
  for (let index = copy.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1))
    ;[copy[index], copy[other]] = [copy[other] as T, copy[index] as T]
  }
  return copy
}

/** Quotes over the hours before `now`, each with the outcome fast_quote must give it. */
function quoteHistory(now: number, hours: number, prefix: string) {
  const events: Event[] = []
  const expected = { good: 0, bad: 0 }
  const start = now - hours * HOUR
  for (let index = 0; index < hours * 4; index++) {
    const subject = `${prefix}Q-${index}`
    const at = start + index * 15 * MINUTE
    const kind = index % 4
    const customerType = kind === 3 ? 'business' : 'consumer'
    events.push(
      event('/quoting/web', 'quote.requested', subject, at, { customerId: `c${index}`, customerType }),
    )
    // 0: answered in 5 s (good); 1: in 45 s, past the consumer's 30 s (bad); 2: never answered,
    // long past its deadline (bad); 3: a business quote answered in 10 minutes, within 24 h (good).
    if (kind === 0) events.push(event('/quoting/web', 'quote.issued', subject, at + 5 * SECOND))
    if (kind === 1) events.push(event('/quoting/web', 'quote.issued', subject, at + 45 * SECOND))
    if (kind === 3) events.push(event('/quoting/web', 'quote.issued', subject, at + 10 * MINUTE))
    if (kind === 0 || kind === 3) expected.good++
    else expected.bad++
  }
  return { events, expected }
}

/** Deliveries a carrier's nightly file reports, each with the outcome on_time_in_full must give it. */
function deliveryHistory(from: number, count: number, prefix: string, source = '/carrier/nightly') {
  const events: Event[] = []
  const expected = { good: 0, bad: 0 }
  for (let index = 0; index < count; index++) {
    const subject = `${prefix}D-${index}`
    const at = from + index * HOUR
    const promisedBy = at + 4 * HOUR
    events.push(
      event(source, 'delivery.scheduled', subject, at, {
        customerId: `d${index}`,
        promisedBy: new Date(promisedBy).toISOString(),
        items: 2,
      }),
    )
    // 0: on time and whole (good); 1: an hour late (bad); 2: on time, one item short (bad).
    const kind = index % 3
    const deliveredAt = kind === 1 ? promisedBy + HOUR : at + 2 * HOUR
    events.push(
      event(source, 'delivery.delivered', subject, deliveredAt, { itemsDelivered: kind === 2 ? 1 : 2 }),
    )
    if (kind === 0) expected.good++
    else expected.bad++
  }
  return { events, expected }
}

async function send(kafka: Kafka, logger: Logger, topic: string, events: readonly Event[]) {
  const producer = new BatchingProducer(kafka, { logger })
  await producer.connect()
  try {
    for (let start = 0; start < events.length; start += 100) {
      await producer.send(
        topic,
        events.slice(start, start + 100).map((item) => ({ key: item.subject, value: JSON.stringify(item) })),
      )
    }
  } finally {
    await producer.disconnect()
  }
}

/** Outcome counts of one CPI over the interactions whose subject starts with `prefix` (each test its own). */
async function outcomeCounts(clickhouse: ClickHouse, cpi: string, prefix: string) {
  const result = await clickhouse.reader.query({
    query: `SELECT countIf(state = 'good') AS good, countIf(state = 'bad') AS bad, count() AS total
            FROM ${clickhouse.database}.outcomes FINAL WHERE cpi = {cpi:String} AND startsWith(subject, {prefix:String})`,
    query_params: { cpi, prefix },
    format: 'JSONEachRow',
  })
  const [row] = await result.json<{ good: string; bad: string; total: string }>()
  return { good: Number(row?.good), bad: Number(row?.bad), total: Number(row?.total) }
}

async function tooLate(clickhouse: ClickHouse, topic: string) {
  const result = await clickhouse.reader.query({
    query: `SELECT id FROM ${clickhouse.database}.events WHERE kafka_topic = {topic:String} AND too_late = 1 ORDER BY id`,
    query_params: { topic },
    format: 'JSONEachRow',
  })
  return (await result.json<{ id: string }>()).map((row) => row.id)
}

async function startOn(
  kafka: Kafka,
  clickhouse: ClickHouse,
  logger: Logger,
  env: Record<string, string> = {},
) {
  const topic = env.CPI_EVENTS_TOPIC ?? uniqueName('events')
  const deadLetter = env.CPI_DEAD_LETTER_TOPIC ?? uniqueName('dlq')
  await ensureTopics(kafka, [
    { topic, numPartitions: 3 },
    { topic: deadLetter, numPartitions: 1 },
  ])
  const { processor } = await startTestProcessor(
    { kafka, clickhouse, logger },
    { events: topic, deadLetter },
    env,
  )
  return { topic, processor }
}

describe('late data revises, it is not dropped (real broker and engine)', () => {
  it('gives exact CPIs for 30 hours of history sent at once, shuffled and with duplicates, then live events', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    // Through the gateway, as a team connecting its systems sends its first day.
    const gateway = await startTestGateway(logger)
    const { topic, processor } = await startOn(kafka, clickhouse, logger, {
      CPI_EVENTS_TOPIC: gateway.topics.events,
      CPI_DEAD_LETTER_TOPIC: gateway.topics.deadLetter,
    })
    const post = async (events: readonly Event[]) => {
      for (let start = 0; start < events.length; start += 100) {
        const body = events
          .slice(start, start + 100)
          .map((item) => JSON.stringify(item))
          .join('\n')
        expect(await gateway.post(body, { contentType: 'application/x-ndjson' })).toMatchObject({
          status: 200,
        })
      }
    }
    try {
      const now = Date.now()
      const quotes = quoteHistory(now - 10 * MINUTE, 30, 'a-')
      const deliveries = deliveryHistory(now - 30 * HOUR, 20, 'a-')
      const history = [...quotes.events, ...deliveries.events]
      // Every tenth event twice: a producer's retry or a re-sent export.
      const withDuplicates = [...history, ...history.filter((_, index) => index % 10 === 0)]
      await post(shuffled(withDuplicates, 20261206))
      // Then live: two quotes answered in 3 s.
      const live = ['a-L-1', 'a-L-2'].flatMap((subject, index) => [
        event('/quoting/web', 'quote.requested', subject, now - (10 + index) * SECOND, {
          customerId: subject,
          customerType: 'consumer',
        }),
        event('/quoting/web', 'quote.issued', subject, now - (7 + index) * SECOND),
      ])
      await post(live)

      const expectedQuotes = { good: quotes.expected.good + 2, bad: quotes.expected.bad }
      await expect
        .poll(() => outcomeCounts(clickhouse, 'fast_quote', 'a-'), { timeout: 60_000, interval: 500 })
        .toEqual({ ...expectedQuotes, total: expectedQuotes.good + expectedQuotes.bad })
      await expect
        .poll(() => outcomeCounts(clickhouse, 'on_time_in_full', 'a-'), { timeout: 30_000, interval: 500 })
        .toEqual({ ...deliveries.expected, total: deliveries.expected.good + deliveries.expected.bad })
      expect(quotes.expected).toEqual({ good: 60, bad: 60 })
      expect(deliveries.expected).toEqual({ good: 7, bad: 13 })
      // Nothing was left out as too late, and each event is stored once.
      expect(await tooLate(clickhouse, topic)).toEqual([])
      expect((await countEvents(clickhouse, { kafkaTopic: topic })).distinct).toBe(
        history.length + live.length,
      )
    } finally {
      await processor.stop()
      await gateway.close()
    }
  })

  it("judges lateness per source: a nightly source's day-old file is counted beside a live source", async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    // A horizon of one hour, far shorter than the nightly file's age: only lateness within the
    // nightly source itself may count against it.
    const { topic, processor } = await startOn(kafka, clickhouse, logger, {
      CPI_ALLOWED_LATENESS_MS: '3600000',
    })
    try {
      const now = Date.now()
      const liveQuotes = quoteHistory(now - MINUTE, 1, 'b-')
      await send(kafka, logger, topic, liveQuotes.events)
      await expect
        .poll(async () => (await outcomeCounts(clickhouse, 'fast_quote', 'b-')).total, { timeout: 30_000 })
        .toBe(4)

      const nightly = deliveryHistory(now - 26 * HOUR, 9, 'b-', '/carrier/other-nightly')
      // The file is in time order, as such exports are: no event is late within its own source.
      await send(
        kafka,
        logger,
        topic,
        [...nightly.events].sort((a, b) => Date.parse(a.time) - Date.parse(b.time)),
      )
      await expect
        .poll(() => outcomeCounts(clickhouse, 'on_time_in_full', 'b-'), { timeout: 30_000, interval: 500 })
        .toEqual({ ...nightly.expected, total: 9 })
      expect(await tooLate(clickhouse, topic)).toEqual([])

      // Within one source the horizon still holds: this one is two hours older than the
      // nightly source's latest event on every partition.
      const stale = event('/carrier/other-nightly', 'delivery.scheduled', 'b-D-stale', now - 40 * HOUR, {
        customerId: 'x',
        promisedBy: new Date(now - 36 * HOUR).toISOString(),
        items: 1,
      })
      await send(kafka, logger, topic, [stale])
      await expect.poll(() => tooLate(clickhouse, topic), { timeout: 30_000 }).toEqual([stale.id])
    } finally {
      await processor.stop()
    }
  })
})
