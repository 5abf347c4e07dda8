// The engine against the simulator's ground truth with the second write lane on (decision 0021):
// a file of its own, so its run has a database of its own.
import { describe } from 'vitest'
import { expectEngineGroundTruth } from './support/engine-truth-run.ts'
import { it } from './support/fixtures.ts'

describe('CPI engine against the ground truth with the second write lane', () => {
  it('gives exactly the ground truth per interaction and per window and segment with CPI_PROCESSOR_SECOND_LANE=on', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    await expectEngineGroundTruth(
      { kafka, clickhouse, createTopic, logger },
      { CPI_PROCESSOR_SECOND_LANE: 'on' },
    )
  }, 240_000)
})
