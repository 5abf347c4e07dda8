import { describe, expect, it } from 'vitest'
import { runChecks } from './health.ts'

describe('runChecks', () => {
  it('reports each dependency, counting a throw or a hang as down', async () => {
    const results = await runChecks(
      [
        { name: 'up', check: async () => true },
        { name: 'down', check: async () => false },
        {
          name: 'throws',
          check: async () => {
            throw new Error('x')
          },
        },
        { name: 'hangs', check: () => new Promise<boolean>(() => undefined) },
      ],
      50,
    )
    expect(results.map(({ name, ok }) => ({ name, ok }))).toEqual([
      { name: 'up', ok: true },
      { name: 'down', ok: false },
      { name: 'throws', ok: false },
      { name: 'hangs', ok: false },
    ])
    expect(results[3]?.ms).toBeGreaterThanOrEqual(45)
  })
})
