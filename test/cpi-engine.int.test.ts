// The engine against the simulator's ground truth, with one write connection (the default).
import { describe } from 'vitest'
import { expectEngineGroundTruth } from './support/engine-truth-run.ts'
import { it } from './support/fixtures.ts'

describe('CPI engine against the ground truth, through the real broker and engine', () => {
  it('gives exactly the ground truth per interaction and per window and segment, duplicates, reordering and invalid events included', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    await expectEngineGroundTruth({ kafka, clickhouse, createTopic, logger })
  }, 240_000)
})
