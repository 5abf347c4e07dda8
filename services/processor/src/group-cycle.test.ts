import type { ClickHouse, RawEventRow } from '@cpi/clickhouse'
import type { Batch, BatchingProducer } from '@cpi/kafka'
import { createLogger } from '@cpi/logger'
import { exampleEvents } from '@cpi/schemas'
import type { KafkaMessage, Message } from 'kafkajs'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { type GroupState, processGroup } from './group-cycle.ts'
import { InteractionCache } from './interaction-cache.ts'
import { PartitionClock } from './partition-clock.ts'
import { createProcessorMetrics } from './processor-metrics.ts'
import { RevisitSchedule } from './revisit-schedule.ts'
import { PartitionRollupState } from './rollup-state.ts'

// The group cycle's own logic, without Kafka or ClickHouse: the stores are functions the test
// gives (an empty catalog: no outcomes to decide). What it pins: every message ends under one
// outcome, dead letters go out before the group resolves, positions move only once a group is
// durable, and a failed group leaves no state behind for its partitions.

const NOW = Date.parse('2026-12-01T00:00:00Z')
const logger = createLogger({ service: 'test', level: 'silent' })
const call = exampleEvents['call.queued']

const message = (value: unknown, offset: number, key: string = call.subject): KafkaMessage =>
  ({
    key: Buffer.from(key),
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
    offset: String(offset),
    timestamp: String(NOW),
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

/** A group state over fake stores; `log` records what reached them, in order. */
function fakeState(insert: (rows: readonly RawEventRow[]) => Promise<void>) {
  const log: string[] = []
  const registry = new Registry()
  const state: GroupState = {
    clickhouse: {} as ClickHouse,
    catalog: [],
    cache: new InteractionCache({ maxBytes: 1_000_000 }),
    rollups: new PartitionRollupState(),
    revisits: new RevisitSchedule(),
    logger,
    metrics: createProcessorMetrics(registry),
    clock: new PartitionClock({ idleAfterMs: 5000, allowedLatenessMs: 86_400_000 }),
    positions: new Map(),
    producer: {
      send: async (_topic: string, messages: Message[]) => {
        if (messages.length > 0)
          log.push(`dead letters: ${messages.map((m) => m.headers?.['cpi-reject-reason']).join(',')}`)
      },
    } as unknown as BatchingProducer,
    deadLetterTopic: 'cpi.events.dlq',
    validate: {
      maxSkewMs: 60_000,
      letter: (key, raw, letter) => ({ key, value: raw, headers: { 'cpi-reject-reason': letter.reason } }),
      logger,
    },
    load: async () => new Map(),
    insertEvents: async (rows) => {
      await insert(rows)
      log.push(`events: ${rows.map((row) => row.kafka_offset).join(',')}`)
    },
    storedTime: async () => ({ max: undefined, bySource: new Map() }),
    now: () => NOW,
  }
  const outcomes = async () =>
    Object.fromEntries(
      (await registry.getSingleMetric('cpi_processor_events_total')?.get())?.values.map((value) => [
        value.labels.outcome,
        value.value,
      ]) ?? [],
    )
  return { state, log, outcomes }
}

describe('processGroup', () => {
  it('ends every message under one outcome, sends the dead letters before it resolves, and moves the positions', async () => {
    const { state, log, outcomes } = fakeState(async () => undefined)
    await processGroup(
      [
        batch(0, [
          message(call, 10),
          message('{oops', 11),
          message(call, 12), // the same event again: dropped
          message({ ...call, data: { ...call.data, queue: 'other' } }, 13), // same id, other content
        ]),
        batch(1, [message({ ...call, id: 'c-2', subject: 'C-2' }, 5, 'C-2')]),
      ],
      state,
    )
    // The dead letters so far go out beside the events insert; both before the group resolves.
    expect(log).toEqual(['dead letters: malformed_json,conflicting_duplicate', 'events: 10,5'])
    expect(await outcomes()).toEqual({ ok: 2, duplicate: 1, conflict: 1, dead_letter: 1 })
    expect(state.positions).toEqual(
      new Map([
        [0, 14n],
        [1, 6n],
      ]),
    )
    expect(state.clock.maxEventTime(0)).toBe(Date.parse(call.time))
  })

  it("dead-letters a row the store refuses for its content, after the group's first dead letters", async () => {
    const { state, log, outcomes } = fakeState(async (rows) => {
      if (rows.some((row) => row.kafka_offset === '21'))
        throw Object.assign(new Error('Cannot parse input'), { refusedContent: true })
    })
    await processGroup(
      [
        batch(0, [
          message(call, 20),
          message({ ...call, id: 'c-9', subject: 'C-9' }, 21, 'C-9'),
          message('', 22),
        ]),
      ],
      state,
    )
    expect(log).toEqual(['dead letters: malformed_json', 'events: 20', 'dead letters: storage_rejected'])
    expect(await outcomes()).toEqual({ ok: 1, duplicate: 0, conflict: 0, dead_letter: 2 })
  })

  it('leaves no clock position or keyed state behind when the group fails, and counts nothing', async () => {
    const { state, outcomes } = fakeState(async () => {
      throw new Error('connection refused')
    })
    state.positions.set(0, 30n)
    state.cache.hold(0, 'C-1', [], NOW)
    await expect(processGroup([batch(0, [message(call, 30)])], state)).rejects.toThrow('connection refused')
    expect(state.positions.has(0)).toBe(false)
    expect(state.cache.lookup(0, ['C-1'], NOW).missing).toEqual(['C-1'])
    expect(await outcomes()).toEqual({})
  })
})
