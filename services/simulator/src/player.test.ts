import { createLogger } from '@cpi/logger'
import { describe, expect, it } from 'vitest'
import type { SimulatedEvent } from './generate.ts'
import { startPlayer } from './player.ts'
import { parseScenario } from './scenario.ts'

describe('startPlayer', () => {
  it('backfills in arrival order: never an event before one that arrived earlier (found by the too-late counter)', async () => {
    const now = Date.parse('2026-11-22T12:00:00Z')
    const sent: SimulatedEvent[] = []
    const player = startPlayer({
      scenario: parseScenario({ seed: 3, ratePerSecond: 2 }),
      sink: { name: 'memory', send: async (events) => void sent.push(...events) },
      logger: createLogger({ service: 'test', level: 'silent' }),
      // A day of backfill with the default batch: enough far-future follow-ups pile up in the
      // queue to stop generation early, which is when the old player sent past its frontier.
      from: now - 24 * 3_600_000,
      clock: () => now,
    })
    await expect
      .poll(() => sent.filter((event) => event.arrival > now - 60_000).length, { timeout: 60_000 })
      .toBeGreaterThan(0)
    await player.stop()
    expect(sent.length).toBeGreaterThan(100_000)
    const outOfOrder = sent.findIndex(
      (event, index) => index > 0 && event.arrival < (sent[index - 1] as SimulatedEvent).arrival,
    )
    expect(outOfOrder).toBe(-1)
    expect(sent.every((event) => event.arrival <= now)).toBe(true)
  })
})
