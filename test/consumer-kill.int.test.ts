import { countEvents, createClickHouse } from '@cpi/clickhouse'
import { describe, expect } from 'vitest'
import { openMigratedClickHouse, testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import {
  committedTotal,
  EVENTS,
  expectExactLedger,
  PARTITIONS,
  produceEvents,
  runWorker,
  type WorkerRun,
} from './support/ledger.ts'

// Its own file: its consumers run in child processes that open the embedded engine's data
// directory, so this test process must hold no ClickHouse client of its own while they run.
describe('a consumer process killed with SIGKILL mid-stream, 10,000 events', () => {
  it('survives SIGKILL of the consumer process mid-stream: still exactly 10,000, with redelivered rows deduplicated', async ({
    kafka,
    clickhouseSettings,
    createTopic,
    logger,
  }) => {
    const topic = await createTopic('ledger_kill', PARTITIONS)
    await produceEvents(kafka, topic, uniqueName('run'), logger, 150)
    const groupId = uniqueName('group')
    // Child processes share the embedded engine's data directory, one at a time: this test
    // holds no client while they run.
    const setup = await openMigratedClickHouse(clickhouseSettings)
    await setup.close()
    const workerConfig = {
      brokers: testEnvironment().kafkaBrokers,
      topic,
      groupId,
      clickhouse: clickhouseSettings,
    }

    // 1. Killed by itself after its 5th batch was written to ClickHouse and before that batch's
    //    offsets were committed: the worst moment, which forces a redelivery.
    const first = await runWorker(workerConfig, { crashAfterBatches: 5 })
    const explain = (run: WorkerRun) =>
      `exit ${run.exitCode}, signal ${run.signal}, ${run.lines.length} batches, last ${JSON.stringify(run.lines.at(-1))}, stderr: ${run.stderr.slice(-2000)}`
    expect(first.signal, explain(first)).toBe('SIGKILL')
    expect(first.lines).toHaveLength(5)
    // 2. Killed from outside, wherever it is, once it reports 4,000 events written.
    const second = await runWorker(workerConfig, { killWhenTotalReaches: 4000 })
    expect(second.signal, explain(second)).toBe('SIGKILL')
    // 3. Runs to the end of the topic and exits by itself.
    const third = await runWorker(workerConfig)
    expect(third.exitCode, explain(third)).toBe(0)
    expect(await committedTotal(kafka, groupId, topic)).toBe(EVENTS)

    // The 5th batch of run 1 was redelivered to run 2: same (partition, first offset).
    const crashed = first.lines.at(-1)
    expect(second.lines.concat(third.lines)).toContainEqual(
      expect.objectContaining({ partition: crashed?.partition, first: crashed?.first }),
    )

    // More messages were written than exist: the redeliveries the ledger must not count.
    const written = [...first.lines, ...second.lines, ...third.lines].reduce(
      (sum, line) => sum + Number(line.last) - Number(line.first) + 1,
      0,
    )
    expect(written).toBeGreaterThan(EVENTS)

    const clickhouse = createClickHouse(clickhouseSettings)
    try {
      await expectExactLedger(clickhouse, kafka, topic)
      const counts = await countEvents(clickhouse, { kafkaTopic: topic })
      expect(counts.distinct).toBe(EVENTS)
      expect(counts.stored).toBeGreaterThanOrEqual(EVENTS) // duplicates merge away in the background
    } finally {
      await clickhouse.writer.command({ query: `DROP DATABASE IF EXISTS ${clickhouse.database}` })
      await clickhouse.close()
    }
  })
})
