import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadExperimentDesigns, parseExperimentDesigns } from './experiment-designs.ts'

describe('experiment designs', () => {
  it('parses designs with their defaults, by id', () => {
    const designs = parseExperimentDesigns([
      {
        id: 'fastquote-routing',
        minimumDetectableEffect: 0.05,
        baselines: { fast_quote: { cpi: 0.8, kpi: 0.25 } },
      },
      { id: 'returns-v2', minimumDetectableEffect: 0.02, alpha: 0.01, power: 0.9 },
    ])
    expect(designs.get('fastquote-routing')).toEqual({
      id: 'fastquote-routing',
      minimumDetectableEffect: 0.05,
      alpha: 0.05,
      power: 0.8,
      baselines: { fast_quote: { cpi: 0.8, kpi: 0.25 } },
    })
    expect(designs.get('returns-v2')).toMatchObject({ alpha: 0.01, power: 0.9, baselines: {} })
  })

  it('names each bad field, and a duplicate id', () => {
    expect(() =>
      parseExperimentDesigns(
        [{ id: 'a b', minimumDetectableEffect: 1.5, baselines: { fast_quote: { cpi: 0 } } }],
        'x.json',
      ),
    ).toThrow(
      /invalid experiment designs in x\.json:\n {2}0\.id: .*\n {2}0\.minimumDetectableEffect: .*\n {2}0\.baselines\.fast_quote\.cpi: /,
    )
    expect(() =>
      parseExperimentDesigns([
        { id: 'a', minimumDetectableEffect: 0.1 },
        { id: 'a', minimumDetectableEffect: 0.2 },
      ]),
    ).toThrow('a registered twice')
  })

  it('loads a file; no file is no designs; broken JSON says so', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'designs-'))
    try {
      const file = path.join(dir, 'designs.json')
      await writeFile(file, JSON.stringify([{ id: 'x', minimumDetectableEffect: 0.1 }]))
      expect([...(await loadExperimentDesigns(file)).keys()]).toEqual(['x'])
      expect((await loadExperimentDesigns(undefined)).size).toBe(0)
      await writeFile(file, '[{')
      await expect(loadExperimentDesigns(file)).rejects.toThrow(/expected JSON/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
