// CPIs whose clocks are not the wall clock (business hours, pauses: docs/cpi-catalog.md), through the real broker,
// processor and engine: a catalog file with a calendar (a holiday from an iCalendar file beside
// it), a CPI on it, and a CPI whose clock pauses while a ticket waits on the customer. Every
// expected value is computed by hand.
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { ClickHouse } from '@cpi/clickhouse'
import { ensureTopics } from '@cpi/kafka'
import { describe, expect } from 'vitest'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestProcessor } from './support/processor.ts'

const M = 60_000
const H = 60 * M
const at = (iso: string) => Date.parse(iso)

const event = (type: string, id: string, subject: string, time: number, data: Record<string, unknown>) =>
  JSON.stringify({
    specversion: '1.0',
    id,
    source: '/support/desk',
    type,
    time: new Date(time).toISOString(),
    subject,
    data,
  })
const opened = (subject: string, time: number) =>
  event('ticket.opened', `${subject}-opened`, subject, time, {
    customerId: `c-${subject}`,
    channel: 'email',
    region: 'eu',
  })
const answered = (subject: string, time: number) =>
  event('ticket.message', `${subject}-answer`, subject, time, { direction: 'outbound', author: 'agent' })

/** Each ticket's outcome rows as the table keeps them: CPI, subject, state, both waits, pauses. */
async function outcomesOf(clickhouse: ClickHouse) {
  const result = await clickhouse.reader.query({
    query: `SELECT cpi, subject, state, latency_ms, wall_latency_ms, pauses, paused_ms
            FROM ${clickhouse.database}.outcomes FINAL
            WHERE (cpi = 'reply_business_hour' AND subject IN ('A', 'B', 'C')) OR (cpi = 'resolved_8h' AND subject = 'D')
            ORDER BY cpi, subject`,
    format: 'JSONEachRow',
  })
  const number = (value: unknown) => (value === null ? null : Number(value))
  return (await result.json<Record<string, unknown>>()).map((row) => [
    row.cpi,
    row.subject,
    row.state,
    number(row.latency_ms),
    number(row.wall_latency_ms),
    number(row.pauses),
    number(row.paused_ms),
  ])
}

describe('an expectation on business hours, end to end', () => {
  it('decides each ticket against the desk’s working time (holidays included) or its unpaused time, and keeps both waits and the pauses', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cpi-business-hours-'))
    // Monday 30 November 2026 is closed (from the iCalendar file).
    await writeFile(
      path.join(dir, 'closed.ics'),
      'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261130\r\nSUMMARY:Closed\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n',
    )
    const weekday = [{ from: '09:00', to: '17:00' }]
    await writeFile(
      path.join(dir, 'catalog.json'),
      JSON.stringify({
        calendars: [
          {
            name: 'desk_berlin',
            timeZone: 'Europe/Berlin',
            week: { mon: weekday, tue: weekday, wed: weekday, thu: weekday, fri: weekday },
            holidaysFromIcs: 'closed.ics',
          },
        ],
        cpis: [
          {
            name: 'reply_business_hour',
            displayName: 'Reply within a business hour',
            description: 'A human reply within one hour of the desk’s working time.',
            owner: 'support',
            version: 1,
            shape: 'latency',
            start: { type: 'ticket.opened' },
            completion: [{ type: 'ticket.message', where: { direction: 'outbound', author: 'agent' } }],
            expectation: { within: '1h', calendar: 'desk_berlin' },
            dimensions: ['region'],
          },
          {
            name: 'resolved_8h',
            displayName: 'Resolved within 8 hours',
            description: 'Resolved within eight hours; waiting on the customer does not count.',
            owner: 'support',
            version: 1,
            shape: 'latency',
            start: { type: 'ticket.opened' },
            completion: [{ type: 'ticket.resolved' }],
            expectation: { within: '8h' },
            pauses: [
              {
                pause: {
                  type: 'ticket.message',
                  where: { direction: 'outbound', status: 'waiting_on_customer' },
                },
                resume: { type: 'ticket.message', where: { direction: 'inbound' } },
              },
            ],
          },
        ],
      }),
    )
    const topics = { events: uniqueName('hours_events'), deadLetter: uniqueName('hours_dlq') }
    await ensureTopics(kafka, [
      { topic: topics.events, numPartitions: 1 },
      { topic: topics.deadLetter, numPartitions: 1 },
    ])
    const { processor } = await startTestProcessor({ kafka, clickhouse, logger }, topics, {
      CPI_CATALOG_FILES: path.join(dir, 'catalog.json'),
    })
    try {
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({
        topic: topics.events,
        messages: [
          // A: Friday 20 Nov 16:30 (UTC+1), answered Monday 23 Nov 09:20: 30 + 20 working minutes.
          { key: 'A', value: opened('A', at('2026-11-20T15:30:00Z')) },
          { key: 'A', value: answered('A', at('2026-11-23T08:20:00Z')) },
          // B: Friday 27 Nov 16:30, Monday closed: due Tuesday 1 Dec 09:30; answered 09:40 (70 min).
          { key: 'B', value: opened('B', at('2026-11-27T15:30:00Z')) },
          { key: 'B', value: answered('B', at('2026-12-01T08:40:00Z')) },
          // C: Thursday 3 Dec 16:45, answered Friday 09:10: 15 + 10 working minutes.
          { key: 'C', value: answered('C', at('2026-12-04T08:10:00Z')) },
          { key: 'C', value: opened('C', at('2026-12-03T15:45:00Z')) },
          // D (wall time): opened 10:00, waiting on the customer 11:00–15:00, resolved 19:30:
          // 9 h 30 less 4 h paused, due at 22:00.
          { key: 'D', value: opened('D', at('2026-12-02T10:00:00Z')) },
          {
            key: 'D',
            value: event('ticket.message', 'D-ask', 'D', at('2026-12-02T11:00:00Z'), {
              direction: 'outbound',
              author: 'agent',
              status: 'waiting_on_customer',
            }),
          },
          {
            key: 'D',
            value: event('ticket.message', 'D-reply', 'D', at('2026-12-02T15:00:00Z'), {
              direction: 'inbound',
              author: 'customer',
            }),
          },
          { key: 'D', value: event('ticket.resolved', 'D-resolved', 'D', at('2026-12-02T19:30:00Z'), {}) },
        ],
      })
      await producer.disconnect()
      await expect
        .poll(() => outcomesOf(clickhouse), { timeout: 30_000, interval: 250 })
        .toEqual([
          ['reply_business_hour', 'A', 'good', 50 * M, 2 * 24 * H + 16 * H + 50 * M, 0, null],
          [
            'reply_business_hour',
            'B',
            'bad',
            70 * M,
            at('2026-12-01T08:40:00Z') - at('2026-11-27T15:30:00Z'),
            0,
            null,
          ],
          ['reply_business_hour', 'C', 'good', 25 * M, 16 * H + 25 * M, 0, null],
          ['resolved_8h', 'D', 'good', 5 * H + 30 * M, null, 1, 4 * H],
        ])
    } finally {
      await processor.stop()
    }
  })
})
