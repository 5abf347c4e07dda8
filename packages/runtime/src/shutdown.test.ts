import { createLogger } from '@cpi/logger'
import { describe, expect, it } from 'vitest'
import { createShutdown } from './shutdown.ts'

const logger = createLogger({ service: 'test', level: 'silent' })

describe('createShutdown', () => {
  it('runs the steps in order, keeps going past a failure and exits 1 for it', async () => {
    const ran: string[] = []
    const exits: number[] = []
    const lifecycle = createShutdown({
      logger,
      timeoutMs: 1000,
      exit: (code) => exits.push(code),
      steps: () => [
        { name: 'http', run: async () => void ran.push('http') },
        {
          name: 'consumer',
          run: async () => {
            ran.push('consumer')
            throw new Error('stuck')
          },
        },
        { name: 'clickhouse', run: async () => void ran.push('clickhouse') },
      ],
    })
    expect(lifecycle.isShuttingDown()).toBe(false)
    const first = lifecycle.shutdown('SIGTERM')
    expect(lifecycle.isShuttingDown()).toBe(true)
    // A second signal joins the shutdown under way instead of starting another.
    expect(lifecycle.shutdown('SIGINT')).toBe(first)
    await first
    expect(ran).toEqual(['http', 'consumer', 'clickhouse'])
    expect(exits).toEqual([1])
  })

  it('forces the exit when a step hangs past the timeout', async () => {
    const exits: number[] = []
    const lifecycle = createShutdown({
      logger,
      timeoutMs: 30,
      exit: (code) => exits.push(code),
      steps: () => [{ name: 'hangs', run: () => new Promise<void>(() => undefined) }],
    })
    void lifecycle.shutdown('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 80))
    expect(exits).toEqual([1])
  })
})
