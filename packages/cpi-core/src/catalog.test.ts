import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { CatalogError, loadCatalog, parseCatalog } from './catalog.ts'

describe('the built-in catalog', () => {
  it('loads the nine built-in CPIs of docs/cpi-catalog.md with durations in milliseconds', async () => {
    const catalog = await loadCatalog()
    expect(catalog.map((definition) => definition.name)).toEqual([
      'fast_quote',
      'on_time_in_full',
      'nothing_broke',
      'first_time_resolution',
      'first_reply_2h',
      'phone_answer_20s',
      'csat',
      'payment_flexibility',
      'value_delivered',
    ])
    const fast = catalog[0]
    expect(fast?.shape === 'latency' && fast.expectation).toEqual({
      within: 30_000,
      rules: [{ when: { customerType: 'business' }, within: 86_400_000 }],
    })
    expect(fast?.objective).toEqual({ target: 0.9, window: 28 * 86_400_000, kind: 'rolling' })
  })
})

describe('catalog validation', () => {
  const valid = {
    name: 'x_cpi',
    displayName: 'X',
    description: 'd',
    owner: 'o',
    version: 1,
    shape: 'survey',
    response: { type: 'survey.responded' },
    scoreField: 'csat',
    goodAtLeast: 4,
  }

  it('names the CPI, the field and the problem', () => {
    const broken = [
      { ...valid, name: 'Bad Name' },
      { ...valid, name: 'y_cpi', response: { type: 'survey.sent' } },
      {
        ...valid,
        name: 'z_cpi',
        shape: 'latency',
        start: { type: 'call.queued' },
        completion: [],
        expectation: { within: '20 seconds' },
      },
    ]
    try {
      parseCatalog(broken, 'custom.json')
      throw new Error('expected a CatalogError')
    } catch (error) {
      expect(error).toBeInstanceOf(CatalogError)
      const problems = (error as CatalogError).problems
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^custom\.json Bad Name: name: a snake_case name/),
          expect.stringMatching(/^custom\.json y_cpi: response\.type: one of the v1 event types/),
          expect.stringMatching(/^custom\.json z_cpi: completion: /),
          expect.stringMatching(/^custom\.json z_cpi: expectation\.within: a duration such as 30s/),
        ]),
      )
    }
  })

  it('requires followUp of a condition CPI, so a misspelt one is refused, not read as none', () => {
    const condition = {
      ...valid,
      shape: 'condition',
      start: { type: 'checkout.started' },
      anchor: { type: 'checkout.completed' },
      followUp: '0s',
    }
    expect(parseCatalog([condition])[0]).toMatchObject({ shape: 'condition', followUp: 0 })
    const { followUp: _left, ...missing } = condition
    for (const definition of [missing, { ...missing, followup: '0s' }])
      expect(() => parseCatalog([definition], 'custom.json')).toThrow(
        /custom\.json x_cpi: followUp: required: how long after the anchor a failure still counts/,
      )
  })

  it('gives payment_flexibility an explicit follow-up of none', async () => {
    const builtin = JSON.parse(
      await readFile(new URL('../catalog/builtin.json', import.meta.url), 'utf8'),
    ) as Record<string, unknown>[]
    for (const definition of builtin.filter((entry) => entry.shape === 'condition'))
      expect(definition.followUp, String(definition.name)).toMatch(/^\d+(s|d)$/)
    expect(builtin.find((entry) => entry.name === 'payment_flexibility')?.followUp).toBe('0s')
  })

  it('takes the bar of a per-event CPI from exactly one of goodAtLeast and goodAtLeastField', () => {
    expect(
      parseCatalog([{ ...valid, goodAtLeast: undefined, goodAtLeastField: 'promised' }])[0],
    ).toMatchObject({
      goodAtLeastField: 'promised',
    })
    for (const bar of [{ goodAtLeastField: 'promised' }, { goodAtLeast: undefined }])
      expect(() => parseCatalog([{ ...valid, ...bar }], 'custom.json')).toThrow(
        /custom\.json x_cpi: goodAtLeast: exactly one of goodAtLeast \(a number\) and goodAtLeastField/,
      )
  })

  it('lets a higher version replace a CPI, whichever comes first', () => {
    const replaced = parseCatalog([valid, { ...valid, version: 2, goodAtLeast: 5 }])
    expect(replaced).toHaveLength(1)
    expect(replaced[0]).toMatchObject({ version: 2, goodAtLeast: 5 })
    expect(parseCatalog([{ ...valid, version: 3 }, valid])[0]).toMatchObject({ version: 3 })
  })

  it('refuses a CPI defined twice and a leading indicator that does not exist', () => {
    expect(() => parseCatalog([valid, valid])).toThrow(/x_cpi: defined twice at version 1/)
    expect(() => parseCatalog([{ ...valid, leadingIndicators: ['nope'] }])).toThrow(
      /leadingIndicators: no CPI named nope/,
    )
  })
})
