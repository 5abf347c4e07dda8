import { createLogger } from '@cpi/logger'
import { describe, expect, it } from 'vitest'
import { runStartSteps, startBackoffMs } from './start-steps.ts'

const logger = createLogger({ service: 'test', level: 'silent' })

describe('runStartSteps', () => {
  it('retries the failed step with growing waits, then goes on with the next', async () => {
    const ran: string[] = []
    const waits: number[] = []
    let failures = 2
    const done = await runStartSteps(
      [
        async () => ran.push('topics'),
        async () => {
          if (failures-- > 0) throw new Error('broker not there yet')
          ran.push('consumer')
        },
        async () => ran.push('recorder'),
      ],
      { logger, what: 'test', stopping: () => false, wait: async (ms) => waits.push(ms) },
    )
    expect(done).toBe(true)
    expect(ran).toEqual(['topics', 'consumer', 'recorder'])
    expect(waits).toEqual([startBackoffMs(1), startBackoffMs(2)])
    expect(waits[1]).toBeGreaterThan(waits[0] as number)
    expect(startBackoffMs(50)).toBe(30_000)
  })

  it('gives up once stopping, without running the steps left', async () => {
    let stopping = false
    const ran: string[] = []
    const done = await runStartSteps(
      [
        async () => {
          stopping = true
          throw new Error('down')
        },
        async () => ran.push('never'),
      ],
      { logger, what: 'test', stopping: () => stopping, wait: async () => undefined },
    )
    expect(done).toBe(false)
    expect(ran).toEqual([])
  })
})
