import type { RawEventRow, StoredEvent } from '@cpi/clickhouse'
import type { Batch } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { exampleEvents } from '@cpi/schemas'
import type { KafkaMessage } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { asStoredCopy, type Candidate, sortArrivals } from './arrival-stage.ts'
import { advanceClockPositions, type ClockPositions, observeClocks } from './clock-stage.ts'
import { outcomeGroups } from './decide-stage.ts'
import { writeEvents } from './events-stage.ts'
import { InteractionCache } from './interaction-cache.ts'
import { readInteractions, subjectsByPartition } from './keyed-state-stage.ts'
import { deadLetters, type MessageResult, okValues } from './message-outcome.ts'
import { countedEvents } from './outcome-stage.ts'
import { PartitionClock } from './partition-clock.ts'
import { type LetterMessage, validateBatches } from './validate-stage.ts'

const logger = createLogger({ service: 'test', level: 'silent' })
const NOW = Date.parse('2026-12-01T00:00:00Z')
const letter: LetterMessage = (key, raw, deadLetter) => ({
  key,
  value: raw,
  headers: { 'cpi-reject-reason': deadLetter.reason },
})

const kafkaMessage = (value: unknown, offset: number, key: string | null, timestamp = NOW): KafkaMessage =>
  ({
    key: key === null ? null : Buffer.from(key),
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    offset: String(offset),
    timestamp: String(timestamp),
    attributes: 0,
    headers: {},
  }) as KafkaMessage

const batch = (partition: number, messages: KafkaMessage[]): Batch => ({
  topic: 'cpi.events',
  partition,
  messages,
  heartbeat: async () => undefined,
  isStale: () => false,
})

const candidate = (subject: string, partition: number, offset: number, time: string): Candidate => ({
  row: {
    id: `e-${offset}`,
    type: 'quote.requested',
    source: '/test',
    subject,
    time,
    payload: '{}',
    kafka_topic: 'cpi.events',
    kafka_partition: partition,
    kafka_offset: String(offset),
  },
  raw: Buffer.from('{}'),
  key: Buffer.from(subject),
  judgedAt: NOW,
})

const stored = (subject: string, partition: number, offset: number): StoredEvent => ({
  id: `s-${offset}`,
  source: '/test',
  type: 'quote.requested',
  subject,
  time: NOW,
  payload: '{}',
  tooLate: false,
  partition,
  offset: BigInt(offset),
})

const storedCopy = ({ row }: Candidate): StoredEvent => ({
  id: row.id,
  source: row.source,
  type: row.type,
  subject: row.subject,
  time: Date.parse(row.time),
  payload: row.payload,
  tooLate: false,
  partition: row.kafka_partition,
  offset: BigInt(row.kafka_offset),
})

describe('validate stage', () => {
  it('makes a candidate of each valid message and a dead letter of each invalid one, and names unkeyed subjects', () => {
    const call = exampleEvents['call.queued']
    const validated = validateBatches(
      [
        batch(0, [
          kafkaMessage(call, 10, call.subject),
          kafkaMessage('{not json', 11, 'x'),
          kafkaMessage({ ...call, id: 'other' }, 12, 'not-the-subject'),
        ]),
        batch(1, [kafkaMessage(call, 5, call.subject, NOW + 3_600_000)]),
      ],
      NOW,
      { maxSkewMs: 60_000, letter, logger },
    )
    const candidates = okValues(validated.results)
    expect(validated.results.map((result) => result.kind)).toEqual(['ok', 'dead_letter', 'ok', 'ok'])
    expect(candidates.map(({ row }) => [row.kafka_partition, row.kafka_offset])).toEqual([
      [0, '10'],
      [0, '12'],
      [1, '5'],
    ])
    expect(deadLetters(validated.results).map((message) => message.headers?.['cpi-reject-reason'])).toEqual([
      'malformed_json',
    ])
    expect(validated.unkeyed).toEqual([call.subject])
    // The record an hour ahead of the wall clock was judged against the capped clock.
    expect(validated.clampedRecords).toBe(1)
    expect(candidates[2]?.judgedAt).toBe(NOW + 60_000)
  })
})

describe('arrival stage', () => {
  it('keeps new events and replays, drops a duplicate, dead-letters a conflict, passes earlier results through', () => {
    const first = { ...candidate('Q-1', 0, 10, '2026-12-01T00:00:00Z'), judgedAt: NOW }
    first.row.payload = '{"a":1}'
    const stored = new Map([['Q-1', [{ ...storedCopy(first), payload: '{"a":1}' }]]])
    const replay = first
    const duplicate = { ...candidate('Q-1', 0, 11, '2026-12-01T00:00:00Z') }
    duplicate.row = { ...duplicate.row, id: first.row.id, payload: '{ "a": 1 }' }
    const conflict = { ...candidate('Q-1', 0, 12, '2026-12-01T00:00:00Z') }
    conflict.row = { ...conflict.row, id: first.row.id, payload: '{"a":2}' }
    const fresh = candidate('Q-2', 0, 13, '2026-12-01T00:00:00Z')
    const invalid: MessageResult<Candidate> = {
      kind: 'dead_letter',
      reason: 'malformed_json',
      message: { key: null, value: Buffer.from('{') },
    }
    const results = sortArrivals(
      [replay, duplicate, invalid, conflict, fresh].map((value) =>
        'kind' in value ? value : { kind: 'ok' as const, value },
      ),
      stored,
      letter,
    )
    expect(results.map((result) => (result.kind === 'dead_letter' ? result.reason : result.kind))).toEqual([
      'ok',
      'drop',
      'malformed_json',
      'conflicting_duplicate',
      'ok',
    ])
    expect(okValues(results)).toEqual([replay, fresh])
  })

  it('keeps a written copy decoded from its validation, as the decisions would decode it from storage', () => {
    const event = { ...exampleEvents['quote.requested'], extra: true }
    const [result] = validateBatches(
      [batch(0, [kafkaMessage(event, 5, event.subject, Date.parse(event.time))])],
      NOW,
      { maxSkewMs: 60_000, letter },
    ).results
    if (result?.kind !== 'ok') throw new Error('the event was not accepted')
    const written = asStoredCopy(result.value.row, result.value.parsed)
    const read = { ...written, decoded: undefined }
    expect(written.decoded).toBeDefined()
    expect(countedEvents([written])).toEqual(countedEvents([read]))
    expect(read.decoded).toEqual(written.decoded)
  })
})

describe('clock stage', () => {
  it('marks events later than the allowed lateness too late and leaves them out of the touched interactions', () => {
    const clock = new PartitionClock({ idleAfterMs: 5_000, allowedLatenessMs: 60_000 })
    const accepted = [
      candidate('Q-1', 0, 1, '2026-12-01T00:10:00Z'),
      candidate('Q-2', 0, 2, '2026-12-01T00:00:00Z'),
      candidate('Q-3', 1, 1, '2026-11-30T00:00:00Z'),
    ]
    const observed = observeClocks(clock, accepted, NOW)
    expect(accepted.map(({ row }) => row.too_late)).toEqual([0, 1, 0])
    expect(observed.late).toBe(1)
    expect([...observed.touched].map(([partition, subjects]) => [partition, [...subjects]])).toEqual([
      [0, ['Q-1']],
      [1, ['Q-3']],
    ])
  })

  it('records where each partition stands after a durable group', () => {
    const positions: ClockPositions = new Map()
    advanceClockPositions(
      [batch(0, [kafkaMessage('{}', 7, null), kafkaMessage('{}', 8, null)]), batch(3, [])],
      positions,
    )
    expect(positions).toEqual(
      new Map([
        [0, 9n],
        [3, 1n],
      ]),
    )
  })
})

describe('keyed-state stage', () => {
  it('reads only what the state does not hold, holds what it read, and never holds a subject seen elsewhere', async () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    cache.hold(0, 'Q-1', [stored('Q-1', 0, 1)], NOW)
    const loads: string[][] = []
    const counts: [number, number][] = []
    const state = {
      cache,
      now: () => NOW,
      load: async (subjects: readonly string[]) => {
        loads.push([...subjects])
        return new Map([
          ['Q-2', [stored('Q-2', 0, 2)]],
          ['Q-3', [stored('Q-3', 0, 3), stored('Q-3', 1, 4)]],
        ])
      },
      count: (hits: number, misses: number) => counts.push([hits, misses]),
    }
    const copies = await readInteractions(new Map([[0, new Set(['Q-1', 'Q-2', 'Q-3', 'Q-4'])]]), state)
    expect(loads).toEqual([['Q-2', 'Q-3', 'Q-4']])
    expect(counts).toEqual([[1, 3]])
    expect([...copies].map(([subject, list]) => [subject, list.length])).toEqual([
      ['Q-1', 1],
      ['Q-2', 1],
      ['Q-3', 2],
      ['Q-4', 0],
    ])
    // Read again: Q-2 and Q-4 (nothing stored yet) are held now; Q-3 has a copy on partition 1.
    await readInteractions(new Map([[0, new Set(['Q-2', 'Q-3', 'Q-4'])]]), state)
    expect(loads[1]).toEqual(['Q-3'])
  })

  it('groups subjects by partition and marks one seen on two partitions', () => {
    const cache = new InteractionCache({ maxBytes: 1_000_000 })
    cache.hold(0, 'Q-1', [], NOW)
    const byPartition = subjectsByPartition(
      [candidate('Q-1', 0, 1, '2026-12-01T00:00:00Z'), candidate('Q-1', 1, 2, '2026-12-01T00:00:00Z')],
      cache,
    )
    expect([...byPartition.keys()]).toEqual([0, 1])
    expect(cache.lookup(0, ['Q-1'], NOW).missing).toEqual(['Q-1'])
  })
})

describe('events stage', () => {
  it('dead-letters the rows the store refuses for their content and writes the others', async () => {
    const accepted = [1, 2, 3, 4].map((offset) => candidate(`Q-${offset}`, 0, offset, '2026-12-01T00:00:00Z'))
    const inserted: string[] = []
    const insert = async (rows: readonly RawEventRow[]) => {
      if (rows.some((row) => row.subject === 'Q-3'))
        throw Object.assign(new Error('Cannot parse input: Q-3'), { refusedContent: true })
      inserted.push(...rows.map((row) => row.subject))
    }
    const results = await writeEvents(
      accepted.map((value) => ({ kind: 'ok' as const, value })),
      { insert, letter, logger },
    )
    expect(inserted.sort()).toEqual(['Q-1', 'Q-2', 'Q-4'])
    expect(results.map((result) => (result.kind === 'dead_letter' ? result.reason : result.kind))).toEqual([
      'ok',
      'ok',
      'storage_rejected',
      'ok',
    ])
    expect(deadLetters(results).map((message) => message.headers?.['cpi-reject-reason'])).toEqual([
      'storage_rejected',
    ])
  })

  it('throws a failure that is not about a row, so the group is retried whole', async () => {
    const insert = async () => {
      throw new Error('connection refused')
    }
    await expect(
      writeEvents([{ kind: 'ok', value: candidate('Q-1', 0, 1, '2026-12-01T00:00:00Z') }], {
        insert,
        letter,
        logger,
      }),
    ).rejects.toThrow('connection refused')
  })
})

describe('decide stage', () => {
  it('decides each partition with touched interactions as of its own watermark, none without a catalog', () => {
    const clock = new PartitionClock({ idleAfterMs: 5_000, allowedLatenessMs: 60_000 })
    clock.observe(0, NOW - 1_000, NOW)
    clock.observe(2, NOW - 9_000, NOW)
    const touched = new Map([
      [0, new Set(['Q-1'])],
      [1, new Set<string>()],
      [2, new Set(['Q-7', 'Q-8'])],
    ])
    const catalog = [{ name: 'fast_quote' }] as unknown as Parameters<typeof outcomeGroups>[2]
    expect(outcomeGroups(touched, clock, catalog, NOW)).toEqual([
      { partition: 0, watermark: NOW - 1_000, subjects: ['Q-1'] },
      { partition: 2, watermark: NOW - 9_000, subjects: ['Q-7', 'Q-8'] },
    ])
    expect(outcomeGroups(touched, clock, [], NOW)).toEqual([])
  })
})
