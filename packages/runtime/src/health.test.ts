import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { type ReadinessCheck, registerHealthRoutes, runChecks } from './health.ts'

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

describe('runChecks details', () => {
  it('passes on what a check says is wrong, and marks advisory checks', async () => {
    const results = await runChecks(
      [
        { name: 'kafka', check: async () => true },
        {
          name: 'pipeline',
          advisory: true,
          check: async () => ({ ok: false, detail: 'partition 2 of cpi.events stalled' }),
        },
      ],
      50,
    )
    expect(results.map(({ ms: _ms, ...rest }) => rest)).toEqual([
      { name: 'kafka', ok: true },
      { name: 'pipeline', ok: false, detail: 'partition 2 of cpi.events stalled', advisory: true },
    ])
  })
})

describe('GET /readyz', () => {
  const readyz = async (checks: ReadinessCheck[]) => {
    const app = Fastify()
    registerHealthRoutes(app, { checks, timeoutMs: 50, isShuttingDown: () => false })
    const response = await app.inject({ method: 'GET', url: '/readyz' })
    await app.close()
    return { status: response.statusCode, body: response.json() as { status: string } }
  }
  const up = { name: 'kafka', check: async () => true }
  const stalled = {
    name: 'pipeline',
    advisory: true,
    check: async () => ({ ok: false, detail: 'partition 2 of cpi.events stalled' }),
  }

  it('stays 200 with status degraded when only an advisory check fails, and 503 when a required one does', async () => {
    expect(await readyz([up])).toMatchObject({ status: 200, body: { status: 'ready' } })
    expect(await readyz([up, stalled])).toMatchObject({ status: 200, body: { status: 'degraded' } })
    expect(await readyz([{ ...up, check: async () => false }, stalled])).toMatchObject({
      status: 503,
      body: { status: 'not_ready' },
    })
  })
})
