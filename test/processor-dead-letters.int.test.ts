import { countEvents, countRejectedEvents, listRejectedEvents } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { BatchingProducer } from '@cpi/kafka'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import { exampleEvents } from '@cpi/schemas'
import { describe, expect } from 'vitest'
import { testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestGateway } from './support/gateway.ts'
import { readWholeTopic } from './support/topic-reader.ts'

const recent = () => new Date(Date.now() - 5000).toISOString()

describe('processor: validation again, dead letters and rejected_events, against the real broker and engine', () => {
  it('writes exactly the valid events, dead-letters the rest with reasons, and a poison message blocks nothing', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const gateway = await startTestGateway(logger)
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: gateway.topics.events,
      CPI_DEAD_LETTER_TOPIC: gateway.topics.deadLetter,
      CPI_PROCESSOR_GROUP: uniqueName('processor'),
    })
    const registry = createMetricsRegistry({ service: 'test' })
    const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
    await processor.started
    try {
      // Through the gateway: a mixed batch, 3 valid and 2 invalid.
      const valid = ['g1', 'g2', 'g3'].map((id) => ({
        ...exampleEvents['ticket.opened'],
        id,
        subject: `T-${id}`,
        time: recent(),
      }))
      const answer = await gateway.post(
        [
          valid[0],
          {
            ...exampleEvents['ticket.opened'],
            id: 'g4',
            time: recent(),
            data: { customerId: 'c', channel: 'fax' },
          },
          valid[1],
          { ...exampleEvents['ticket.opened'], id: 'g5', time: recent(), type: 'ticket.exploded' },
          valid[2],
        ],
        { contentType: 'application/cloudevents-batch+json' },
      )
      expect(answer).toMatchObject({ status: 207, body: { accepted: 3 } })

      // Straight to Kafka, past the gateway: one subject's events around poison messages.
      const producer = new BatchingProducer(kafka, { logger })
      await producer.connect()
      const subject = 'C-poison'
      const direct = [
        {
          key: subject,
          value: JSON.stringify({ ...exampleEvents['call.queued'], id: 'p1', subject, time: recent() }),
        },
        { key: subject, value: '{"specversion": "1.0", "id": "p2",' },
        { key: subject, value: null },
        {
          key: subject,
          value: JSON.stringify({
            ...exampleEvents['call.answered'],
            id: 'p3',
            subject,
            time: '2099-01-01T00:00:00Z',
          }),
        },
        {
          key: subject,
          value: JSON.stringify({ ...exampleEvents['call.answered'], id: 'p4', subject, time: recent() }),
        },
      ]
      await producer.send(gateway.topics.events, direct)
      await producer.disconnect()

      // 5 valid events in `events`, the later one of the poisoned subject included.
      await expect
        .poll(() => countEvents(clickhouse).then((counts) => counts.distinct), { timeout: 30_000 })
        .toBe(5)
      const stored = await clickhouse.reader.query({
        query: `SELECT id FROM ${clickhouse.database}.events FINAL ORDER BY id`,
        format: 'JSONEachRow',
      })
      expect((await stored.json<{ id: string }>()).map((row) => row.id)).toEqual([
        'g1',
        'g2',
        'g3',
        'p1',
        'p4',
      ])

      // 5 rejections: 2 at the gateway, 3 at the processor, each with its reason and raw payload.
      await expect
        .poll(() => listRejectedEvents(clickhouse).then((rows) => rows.length), { timeout: 30_000 })
        .toBe(5)
      expect(await countRejectedEvents(clickhouse)).toEqual([
        { origin: 'ingest', reason: 'invalid_field', count: 1 },
        { origin: 'ingest', reason: 'unknown_type', count: 1 },
        { origin: 'processor', reason: 'malformed_json', count: 2 },
        { origin: 'processor', reason: 'time_in_future', count: 1 },
      ])
      const [fax] = await listRejectedEvents(clickhouse, { eventId: 'g4' })
      expect(fax).toMatchObject({
        origin: 'ingest',
        errors: [
          { path: 'data.channel', message: 'expected one of "phone", "email", "chat", "web", got "fax"' },
        ],
      })
      expect(JSON.parse(fax?.raw ?? '{}')).toMatchObject({ id: 'g4', data: { channel: 'fax' } })
      const [future] = await listRejectedEvents(clickhouse, { eventId: 'p3' })
      expect(future).toMatchObject({ origin: 'processor', sourceTopic: gateway.topics.events, subject })
      const truncated = (await listRejectedEvents(clickhouse)).find((row) =>
        row.raw.startsWith('{"specversion'),
      )
      expect(truncated?.raw).toBe('{"specversion": "1.0", "id": "p2",')

      // The events topic holds exactly the gateway's valid events and the direct ones, keyed by subject.
      const inTopic = (await readWholeTopic(kafka, gateway.topics.events)).map((message) => ({
        key: message.key,
        id: (() => {
          try {
            return JSON.parse(message.value).id as string
          } catch {
            return undefined
          }
        })(),
      }))
      expect(
        inTopic
          .filter((entry) => entry.id?.startsWith('g'))
          .sort((a, b) => String(a.id).localeCompare(String(b.id))),
      ).toEqual([
        { key: 'T-g1', id: 'g1' },
        { key: 'T-g2', id: 'g2' },
        { key: 'T-g3', id: 'g3' },
      ])
      expect(inTopic).toHaveLength(3 + direct.length)

      // The dead-letter topic carries the raw bytes and the reason in headers.
      const letters = await readWholeTopic(kafka, gateway.topics.deadLetter)
      expect(letters).toHaveLength(5)
      expect(letters.find((letter) => letter.headers['cpi-event-id'] === 'p3')?.headers).toMatchObject({
        'cpi-reject-reason': 'time_in_future',
        'cpi-reject-origin': 'processor',
        'cpi-source-topic': gateway.topics.events,
      })

      // Counted once the whole group is durable (its dead letters go out before that).
      await expect
        .poll(() => registry.metrics(), { timeout: 15_000 })
        .toMatch(/cpi_processor_events_total\{outcome="ok"[^}]*\} 5/)
      const metrics = await registry.metrics()
      expect(metrics).toMatch(/cpi_processor_events_total\{outcome="dead_letter"[^}]*\} 3/)
      expect(metrics).toMatch(
        /cpi_rejected_events_total\{origin="processor",reason="malformed_json"[^}]*\} 2/,
      )
    } finally {
      await processor.stop()
      await gateway.close()
    }
  })
})
