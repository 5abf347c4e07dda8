// The rollup the processor writes (decision 0015) must say what `outcomes` says, minute by
// minute, whatever moves: an interaction whose cohort moves to an earlier minute when its real
// start comes late (known to the processor, or read back after a restart), and one whose events
// come on two partitions. Against the real broker, processor and engine. The rollup is written
// just after the outcomes of a batch, so each check waits for it.
import {
  type ClickHouse,
  createRollupCache,
  followCoarserGrains,
  insertEvents,
  insertOutcomes,
  minutesOf,
  type OutcomeRow,
  queryCpiSeries,
  recordWatermarks,
  refreshRollups,
  type SeriesQuery,
} from '@cpi/clickhouse'
import { builtinCatalogFile, loadCatalog } from '@cpi/cpi-core'
import { ensureTopics } from '@cpi/kafka'
import { recompute } from '@cpi/processor'
import type { Kafka } from 'kafkajs'
import { describe, expect } from 'vitest'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestProcessor } from './support/processor.ts'
import { expectRollupAgreement, rollupDisagreement } from './support/rollup-agreement.ts'

const SECOND = 1000
const MINUTE = 60 * SECOND

const event = (type: string, id: string, subject: string, time: number, data: Record<string, unknown>) =>
  JSON.stringify({
    specversion: '1.0',
    id,
    source: '/quoting/web',
    type,
    time: new Date(time).toISOString(),
    subject,
    data,
  })
const requested = (id: string, subject: string, time: number) =>
  event('quote.requested', id, subject, time, {
    customerId: `c-${subject}`,
    customerType: 'consumer',
    channel: 'web',
  })
const issued = (subject: string, time: number) =>
  event('quote.issued', `${subject}-issued`, subject, time, { amount: 1, currency: 'EUR' })

async function send(
  kafka: Kafka,
  topic: string,
  records: { partition: number; key: string; value: string }[],
) {
  const producer = kafka.producer()
  await producer.connect()
  try {
    await producer.send({ topic, messages: records })
  } finally {
    await producer.disconnect()
  }
}

async function rows<T>(
  clickhouse: ClickHouse,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const result = await clickhouse.reader.query({ query, query_params: params, format: 'JSONEachRow' })
  return result.json<T>()
}

/** The live fast_quote rows of a subject: [cohort, state]. */
const placements = (clickhouse: ClickHouse, subject: string) =>
  rows<{ at: string; state: string }>(
    clickhouse,
    `SELECT toString(cohort_at) AS at, state FROM ${clickhouse.database}.outcomes FINAL
     WHERE cpi = 'fast_quote' AND subject = {subject:String} ORDER BY cohort_at`,
    { subject },
  ).then((list) => list.map((row) => [row.at.slice(0, 19), row.state]))

/** fast_quote's whole-CPI counts in one minute, from the rollup's view: [good, total]. */
const minuteCounts = async (clickhouse: ClickHouse, minute: number) => {
  const [row] = await rows<{ good: string; total: string }>(
    clickhouse,
    `SELECT sum(good) AS good, sum(total) AS total FROM ${clickhouse.database}.cpi_values
     WHERE cpi = 'fast_quote' AND dimension = 'all' AND window_start = toDateTime({minute:UInt32}, 'UTC')`,
    { minute: minute / 1000 },
  )
  return [Number(row?.good ?? 0), Number(row?.total ?? 0)]
}

const text = (time: number) => new Date(time).toISOString().slice(0, 19).replace('T', ' ')

describe('processor-written rollups', () => {
  it('follow an interaction whose cohort moves, known or read back after a restart, and one written from two partitions', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const topics = { events: uniqueName('rollup_events'), deadLetter: uniqueName('rollup_dlq') }
    await ensureTopics(kafka, [
      { topic: topics.events, numPartitions: 2 },
      { topic: topics.deadLetter, numPartitions: 1 },
    ])
    const group = uniqueName('processor')
    const base = Math.floor((Date.now() - 30 * MINUTE) / MINUTE) * MINUTE
    const head = () => Date.now() - 5 * SECOND
    let { processor } = await startTestProcessor({ kafka, clickhouse, logger }, topics, {
      CPI_PROCESSOR_GROUP: group,
    })
    try {
      // M: requested at minute 5 and answered in 10 s (good); R the same at minute 9.
      await send(kafka, topics.events, [
        { partition: 0, key: 'M', value: requested('M-b', 'M', base + 5 * MINUTE + 10 * SECOND) },
        { partition: 0, key: 'M', value: issued('M', base + 5 * MINUTE + 20 * SECOND) },
        { partition: 0, key: 'R', value: requested('R-b', 'R', base + 9 * MINUTE + 10 * SECOND) },
        { partition: 0, key: 'R', value: issued('R', base + 9 * MINUTE + 15 * SECOND) },
        { partition: 0, key: 'H0', value: requested('H0', 'H0', head()) },
        { partition: 1, key: 'H1', value: requested('H1', 'H1', head()) },
      ])
      await expect
        .poll(() => placements(clickhouse, 'M'), { timeout: 20_000 })
        .toEqual([[text(base + 5 * MINUTE + 10 * SECOND), 'good']])
      await expect.poll(() => minuteCounts(clickhouse, base + 5 * MINUTE)).toEqual([1, 1])

      // M's real start comes late, four minutes earlier: the processor holds M and knows where
      // its row is. One row, at minute 1, bad (answered after 4 min 20 s); minute 5 is empty.
      await send(kafka, topics.events, [
        { partition: 0, key: 'M', value: requested('M-a', 'M', base + MINUTE) },
      ])
      await expect
        .poll(() => placements(clickhouse, 'M'), { timeout: 20_000 })
        .toEqual([[text(base + MINUTE), 'bad']])
      await expect.poll(() => minuteCounts(clickhouse, base + 5 * MINUTE)).toEqual([0, 0])
      await expect.poll(() => minuteCounts(clickhouse, base + MINUTE)).toEqual([0, 1])

      // U comes on two partitions under other keys: requested at minute 7 on partition 0 (left
      // unanswered: bad, still open), then on partition 1 an earlier request at minute 3 and an
      // answer within 5 s. Partition 1 reads where U's row is and moves it: counted once, good.
      await send(kafka, topics.events, [
        { partition: 0, key: 'x', value: requested('U-b', 'U', base + 7 * MINUTE) },
      ])
      await expect
        .poll(() => placements(clickhouse, 'U'), { timeout: 20_000 })
        .toEqual([[text(base + 7 * MINUTE), 'bad']])
      await expect.poll(() => minuteCounts(clickhouse, base + 7 * MINUTE)).toEqual([0, 1])
      await send(kafka, topics.events, [
        { partition: 1, key: 'y', value: requested('U-a', 'U', base + 3 * MINUTE) },
        { partition: 1, key: 'y', value: issued('U', base + 3 * MINUTE + 5 * SECOND) },
      ])
      await expect
        .poll(() => placements(clickhouse, 'U'), { timeout: 20_000 })
        .toEqual([[text(base + 3 * MINUTE), 'good']])
      await expect.poll(() => minuteCounts(clickhouse, base + 7 * MINUTE)).toEqual([0, 0])
      await expect.poll(() => minuteCounts(clickhouse, base + 3 * MINUTE)).toEqual([1, 1])

      // A new process on the same group holds nothing: R's earlier start makes it read R's row.
      await processor.stop()
      ;({ processor } = await startTestProcessor({ kafka, clickhouse, logger }, topics, {
        CPI_PROCESSOR_GROUP: group,
      }))
      await send(kafka, topics.events, [
        { partition: 0, key: 'R', value: requested('R-a', 'R', base + 8 * MINUTE) },
      ])
      await expect
        .poll(() => placements(clickhouse, 'R'), { timeout: 20_000 })
        .toEqual([[text(base + 8 * MINUTE), 'bad']])
      await expect.poll(() => minuteCounts(clickhouse, base + 9 * MINUTE)).toEqual([0, 0])
      await expect.poll(() => minuteCounts(clickhouse, base + 8 * MINUTE)).toEqual([0, 1])

      // Every minute and segment of the rollup equals the outcomes aggregated directly (the
      // rollup is written just after the outcomes: the checks above waited for it).
      const fromRollup = await rows<Record<string, unknown>>(
        clickhouse,
        `SELECT cpi, toString(window_start) AS minute, dimension, value, good, total, pending
         FROM ${clickhouse.database}.cpi_values WHERE good + total + pending > 0
         ORDER BY cpi, minute, dimension, value`,
      )
      const fromOutcomes = await rows<Record<string, unknown>>(
        clickhouse,
        `SELECT cpi, toString(toStartOfMinute(cohort_at)) AS minute, dimension, value,
                countIf(state = 'good') AS good, countIf(state IN ('good', 'bad')) AS total,
                countIf(state = 'pending') AS pending
         FROM ${clickhouse.database}.outcome_segments
         GROUP BY cpi, minute, dimension, value ORDER BY cpi, minute, dimension, value`,
      )
      expect(fromRollup.length).toBeGreaterThan(5)
      expect(fromRollup).toEqual(fromOutcomes)

      // A range that starts and ends inside minutes counts whole minutes (the rollup's grain):
      // [3:02, 8:30) reads as [3:00, 9:00), so U at 3:00 (good) and R at 8:00 (bad) count.
      const from = base + 3 * MINUTE + 2 * SECOND
      const to = base + 8 * MINUTE + 30 * SECOND
      const [exact] = await rows<{ good: string; total: string }>(
        clickhouse,
        `SELECT countIf(state = 'good') AS good, countIf(state IN ('good', 'bad')) AS total
         FROM ${clickhouse.database}.outcomes_now WHERE cpi = 'fast_quote'
           AND cohort_at >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND cohort_at < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`,
        { from: base + 3 * MINUTE, to: base + 9 * MINUTE },
      )
      expect([Number(exact?.good), Number(exact?.total)]).toEqual([1, 2])
      // Whole 5-minute buckets of the range come from the coarser rows, which follow the minutes
      // at the processor's next sweep (200 ms here).
      await expect
        .poll(async () => {
          const [series] = await queryCpiSeries(clickhouse, { cpi: 'fast_quote', from, to })
          return series?.points.map((point) => [point.good, point.total])
        })
        .toEqual([[1, 2]])
    } finally {
      await processor.stop()
    }
  })

  it("serves the API's series from blocks held in memory exactly as the engine computes them, and drops a block when its rows change", async ({
    clickhouse,
  }) => {
    const base = Math.floor((Date.now() - 3 * 3_600_000) / 3_600_000) * 3_600_000
    const channels = ['web', 'phone', 'agent']
    // Outcomes over three hours, some open past their deadline (their wait grows with the watermark).
    const rows: OutcomeRow[] = Array.from({ length: 900 }, (_, index) => {
      const state = index % 7 === 0 ? 'pending' : index % 4 === 0 ? 'bad' : 'good'
      const open = state === 'bad' && index % 8 === 0
      return {
        cpi: 'cache_cpi',
        definition_version: 1,
        subject: `c-${index}`,
        cohort_at: new Date(base + index * 12_000).toISOString(),
        state,
        status: index % 11 === 0 ? 'provisional' : state === 'pending' ? '' : 'final',
        latency_ms: state === 'pending' || open ? null : 50 + ((index * 7919) % 90_000),
        open: open ? 1 : 0,
        segments: { channel: channels[index % 3] as string },
        revisit_at: null,
        watermark: new Date(base + 3 * 3_600_000).toISOString(),
        kafka_partition: index % 2,
        version: base + 3 * 3_600_000,
      }
    })
    await insertOutcomes(clickhouse, rows)
    await refreshRollups(clickhouse, minutesOf(rows))
    await followCoarserGrains(clickhouse, undefined)
    await recordWatermarks(
      clickhouse,
      [0, 1].map((partition) => ({
        topic: 'cache',
        partition,
        watermark: base + 3 * 3_600_000 + partition * 1000,
        maxEventTime: base + 3 * 3_600_000,
      })),
    )
    const cache = createRollupCache(clickhouse, { maxBytes: 1_000_000 })
    await cache.follow()
    const queries: SeriesQuery[] = [
      { cpi: 'cache_cpi', from: base, to: base + 3 * 3_600_000, stepSeconds: 3600 },
      {
        cpi: 'cache_cpi',
        from: base + 7 * MINUTE + 3 * SECOND,
        to: base + 2 * 3_600_000 + 41 * MINUTE,
        stepSeconds: 300,
        by: 'channel',
      },
      { cpi: 'cache_cpi', from: base + 13 * MINUTE, to: base + 2 * 3_600_000 + 2 * MINUTE },
      {
        cpi: 'cache_cpi',
        from: base,
        to: base + 3 * 3_600_000,
        stepSeconds: 600,
        where: { channel: 'phone' },
      },
      {
        cpi: 'cache_cpi',
        from: base,
        to: base + 3 * 3_600_000,
        stepSeconds: 60,
        by: 'channel',
        where: { channel: 'web' },
      },
    ]
    for (const query of queries) {
      const engine = await queryCpiSeries(clickhouse, query)
      expect(engine.length, JSON.stringify(query)).toBeGreaterThan(0)
      expect(await cache.series(query), JSON.stringify(query)).toEqual(engine)
      expect(await cache.series(query), 'from memory').toEqual(engine)
    }
    expect(cache.stats.hits).toBeGreaterThan(0)
    // Two dimensions at once: no rollup rows, the engine answers.
    expect(
      await cache.series({
        cpi: 'cache_cpi',
        from: base,
        to: base + 3_600_000,
        by: 'channel',
        where: { region: 'x' },
      }),
    ).toBeUndefined()

    // A revision: one good outcome turns bad. The next follow drops its blocks; reads agree again.
    const revised = { ...(rows[1] as OutcomeRow), state: 'bad' as const, version: base + 4 * 3_600_000 }
    await insertOutcomes(clickhouse, [revised])
    await refreshRollups(clickhouse, minutesOf([revised]))
    await followCoarserGrains(clickhouse, undefined)
    const before = cache.stats.dropped
    await cache.follow()
    expect(cache.stats.dropped).toBeGreaterThan(before)
    for (const query of queries)
      expect(await cache.series(query)).toEqual(await queryCpiSeries(clickhouse, query))
  })

  it('corrects a minute left counting an interaction when a crash came between its move and the rollup write', async ({
    clickhouse,
  }) => {
    const topic = uniqueName('crash_events')
    const base = Math.floor((Date.now() - 60 * MINUTE) / MINUTE) * MINUTE
    const at = (time: number) => new Date(time).toISOString()
    // Stored: K requested at minute 5 and answered 10 s later, then an earlier request at minute 1.
    const stored = [
      ['K-b', 'quote.requested', base + 5 * MINUTE, requested('K-b', 'K', base + 5 * MINUTE)],
      [
        'K-issued',
        'quote.issued',
        base + 5 * MINUTE + 10 * SECOND,
        issued('K', base + 5 * MINUTE + 10 * SECOND),
      ],
      ['K-a', 'quote.requested', base + MINUTE, requested('K-a', 'K', base + MINUTE)],
    ] as const
    await insertEvents(
      clickhouse,
      stored.map(([id, type, time, payload], offset) => ({
        id,
        type,
        source: '/quoting/web',
        subject: 'K',
        time: at(time),
        payload,
        kafka_topic: topic,
        kafka_partition: 0,
        kafka_offset: offset,
      })),
    )
    const row = (cohort: number, state: 'good' | 'bad', extra: Partial<OutcomeRow> = {}): OutcomeRow => ({
      cpi: 'fast_quote',
      definition_version: 1,
      subject: 'K',
      cohort_at: at(cohort),
      state,
      status: 'final',
      latency_ms: state === 'good' ? 10_000 : 250_000,
      open: 0,
      segments: { channel: 'web', customerType: 'consumer' },
      revisit_at: null,
      watermark: at(base + 30 * MINUTE),
      kafka_partition: 0,
      version: base + 30 * MINUTE,
      ...extra,
    })
    // Before the late request: K good at minute 5, and its rollup written.
    const before = row(base + 5 * MINUTE, 'good', { version: base + 20 * MINUTE })
    await insertOutcomes(clickhouse, [before])
    await refreshRollups(clickhouse, minutesOf([before]))
    // The move committed — a tombstone at minute 5, K bad at minute 1 — then the process died
    // before writing the rollup: minute 5 still counts K.
    const moved = row(base + MINUTE, 'bad')
    await insertOutcomes(clickhouse, [
      {
        ...moved,
        ...{
          cohort_at: at(base + 5 * MINUTE),
          state: 'excluded',
          status: '',
          latency_ms: null,
          segments: {},
          is_deleted: 1,
        },
      },
      moved,
    ])
    await recordWatermarks(clickhouse, [
      { topic, partition: 0, watermark: base + 30 * MINUTE, maxEventTime: base + 30 * MINUTE },
    ])
    expect(await minuteCounts(clickhouse, base + 5 * MINUTE)).toEqual([1, 1])

    // Deciding K again from storage (the replay's path; here through `cpi recompute`) finds the
    // tombstone and writes minute 5 again.
    const fastQuote = (await loadCatalog([builtinCatalogFile])).find((cpi) => cpi.name === 'fast_quote')
    if (!fastQuote) throw new Error('fast_quote is not in the built-in catalog')
    await recompute({ clickhouse, definition: fastQuote, topic, from: base, to: base + 10 * MINUTE })
    expect(await minuteCounts(clickhouse, base + 5 * MINUTE)).toEqual([0, 0])
    expect(await minuteCounts(clickhouse, base + MINUTE)).toEqual([0, 1])
    expect(await placements(clickhouse, 'K')).toEqual([[text(base + MINUTE), 'bad']])
  })
  it('repairs, when a processor takes a partition over, the minutes a crash left between its writes', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const topics = { events: uniqueName('repair_events'), deadLetter: uniqueName('repair_dlq') }
    await ensureTopics(kafka, [
      { topic: topics.events, numPartitions: 2 },
      { topic: topics.deadLetter, numPartitions: 1 },
    ])
    const base = Math.floor((Date.now() - 60 * MINUTE) / MINUTE) * MINUTE
    const at = (time: number) => new Date(time).toISOString()
    const row = (subject: string, state: 'good' | 'bad', version: number): OutcomeRow => ({
      cpi: 'fast_quote',
      definition_version: 1,
      subject,
      cohort_at: at(base + 5 * MINUTE),
      state,
      status: 'final',
      latency_ms: state === 'good' ? 10_000 : 250_000,
      open: 0,
      segments: { channel: 'web', customerType: 'consumer' },
      revisit_at: null,
      watermark: at(base + version * MINUTE),
      kafka_partition: 0,
      version: base + version * MINUTE,
    })
    // A partition's last owner wrote P good and its rollup, then P bad and died before the rollup.
    await insertOutcomes(clickhouse, [row('P', 'good', 20)])
    await refreshRollups(clickhouse, minutesOf([row('P', 'good', 20)]))
    await new Promise((resolve) => setTimeout(resolve, 1500)) // a crash comes later than one clock tick
    await insertOutcomes(clickhouse, [row('P', 'bad', 30)])
    const left = await rollupDisagreement(clickhouse)
    expect(left.partitions.stored.length).toBeGreaterThan(0) // the rollup still counts P good
    expect(await minuteCounts(clickhouse, base + 5 * MINUTE)).toEqual([1, 1])
    // Partition 1's last owner wrote S good at minute 6 and its partition rows, then died before
    // summing the minute: the minute row does not count S.
    await insertOutcomes(clickhouse, [
      { ...row('S', 'good', 20), cohort_at: at(base + 6 * MINUTE), kafka_partition: 1 },
    ])
    await new Promise((resolve) => setTimeout(resolve, 1500)) // a large group's rows take a while
    await clickhouse.writer.command({
      query: `INSERT INTO ${clickhouse.database}.cpi_rollup_partition
                (cpi, bucket, kafka_partition, dimension, value, good, total, pending, provisional, latency_count,
                 latency_histogram, open_since, definition_version, version)
              SELECT cpi, bucket, kafka_partition, dimension, value, good, total, pending, provisional, latency_count,
                     latency_histogram, open_since, definition_version, toUInt64(toUnixTimestamp64Nano(now64(9)))
              FROM ${clickhouse.database}.outcome_rollup_partition_rows
              WHERE kafka_partition = 1 AND bucket = toDateTime({minute:UInt32}, 'UTC')`,
      query_params: { minute: (base + 6 * MINUTE) / 1000 },
    })
    expect((await rollupDisagreement(clickhouse)).minutes.expected.length).toBeGreaterThan(0)
    expect(await minuteCounts(clickhouse, base + 6 * MINUTE)).toEqual([0, 0])

    // A new owner takes the partitions over; its first write of each repairs them before counting.
    const { processor } = await startTestProcessor({ kafka, clickhouse, logger }, topics)
    try {
      await send(kafka, topics.events, [
        { partition: 0, key: 'Q', value: requested('Q-a', 'Q', base + 7 * MINUTE) },
        { partition: 0, key: 'Q', value: issued('Q', base + 7 * MINUTE + 5 * SECOND) },
        { partition: 1, key: 'T', value: requested('T-a', 'T', base + 8 * MINUTE) },
        { partition: 1, key: 'T', value: issued('T', base + 8 * MINUTE + 5 * SECOND) },
      ])
      await expect
        .poll(() => minuteCounts(clickhouse, base + 7 * MINUTE), { timeout: 20_000 })
        .toEqual([1, 1])
      await expect
        .poll(() => minuteCounts(clickhouse, base + 8 * MINUTE), { timeout: 20_000 })
        .toEqual([1, 1])
      expect(await minuteCounts(clickhouse, base + 5 * MINUTE)).toEqual([0, 1])
      expect(await minuteCounts(clickhouse, base + 6 * MINUTE)).toEqual([1, 1])
      await expectRollupAgreement(clickhouse)
    } finally {
      await processor.stop()
    }
  })
  it('repairs, when a processor takes a partition over, a rollup its last owner wrote beside outcome rows that never came', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const topics = { events: uniqueName('beside_events'), deadLetter: uniqueName('beside_dlq') }
    await ensureTopics(kafka, [
      { topic: topics.events, numPartitions: 1 },
      { topic: topics.deadLetter, numPartitions: 1 },
    ])
    const base = Math.floor((Date.now() - 60 * MINUTE) / MINUTE) * MINUTE
    const at = (time: number) => new Date(time).toISOString()
    // The last owner counted U good in its rollup rows (the second lane: partition rows and the
    // minute summed) while its insert of U's outcome row, on the first lane, never completed.
    const u: OutcomeRow = {
      cpi: 'fast_quote',
      definition_version: 1,
      subject: 'U-beside',
      cohort_at: at(base + 40 * MINUTE),
      state: 'good',
      status: 'final',
      latency_ms: 10_000,
      open: 0,
      segments: { channel: 'web', customerType: 'consumer' },
      revisit_at: null,
      watermark: at(base + 20 * MINUTE),
      kafka_partition: 0,
      version: base + 20 * MINUTE,
    }
    await insertOutcomes(clickhouse, [u])
    await refreshRollups(clickhouse, minutesOf([u]))
    await clickhouse.writer.command({
      query: `ALTER TABLE ${clickhouse.database}.outcomes DELETE WHERE subject = 'U-beside'`,
      clickhouse_settings: { mutations_sync: '1' },
    })
    expect(await minuteCounts(clickhouse, base + 40 * MINUTE)).toEqual([1, 1])
    expect((await rollupDisagreement(clickhouse)).partitions.stored.length).toBeGreaterThan(0)

    const { processor } = await startTestProcessor({ kafka, clickhouse, logger }, topics)
    try {
      await send(kafka, topics.events, [
        { partition: 0, key: 'V-beside', value: requested('V-beside-a', 'V-beside', base + 41 * MINUTE) },
        { partition: 0, key: 'V-beside', value: issued('V-beside', base + 41 * MINUTE + 5 * SECOND) },
      ])
      await expect
        .poll(() => minuteCounts(clickhouse, base + 41 * MINUTE), { timeout: 20_000 })
        .toEqual([1, 1])
      expect(await minuteCounts(clickhouse, base + 40 * MINUTE)).toEqual([0, 0])
      await expectRollupAgreement(clickhouse)
    } finally {
      await processor.stop()
    }
  })
})
