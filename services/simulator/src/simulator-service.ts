import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from '@cpi/logger'
import { startPlayer } from './player.ts'
import { parseScenario } from './scenario.ts'
import type { EventSink } from './sinks.ts'

/**
 * The demo's A/B experiment on quotes: variant B routes quote requests to a faster desk, so it
 * answers in half the time, and its customers accept 1.3 times as often — the effect the
 * experiments view finds once the planned sample size is reached.
 */
export const demoExperiment = {
  id: 'fastquote-routing',
  variants: { A: 0.5, B: 0.5 },
  latencyFactor: { B: 0.5 },
  acceptanceFactor: { B: 1.3 },
}

export interface SimulatorSettings {
  seed: number
  ratePerSecond: number
  backfillHours: number
  /** Plants the demo experiment (`demoExperiment`) in the quotes. */
  experiment?: boolean
  /** Where progress is kept between runs (`simulator-progress.json`). */
  dataDir: string
}

/**
 * The simulator as a long-running part of a process (the all-in-one's demo stream): backfills
 * `backfillHours` on its first start, then plays live. Progress is saved, so a restart resumes
 * where it stopped instead of sending the backfill again.
 */
export async function startSimulator(settings: SimulatorSettings, sink: EventSink, logger: Logger) {
  const log = logger.child({ component: 'simulator' })
  const progressFile = path.join(settings.dataDir, 'simulator-progress.json')
  const saved = await readFile(progressFile, 'utf8')
    .then((text) => JSON.parse(text) as { seed: number; sentUntil: number })
    .catch(() => undefined)
  const now = Date.now()
  const resume = saved && saved.seed === settings.seed ? saved.sentUntil : undefined
  const from = Math.max(
    now - settings.backfillHours * 3_600_000,
    resume === undefined ? 0 : resume - 3_600_000,
  )
  await mkdir(settings.dataDir, { recursive: true })
  let lastSaved = 0
  const player = startPlayer({
    scenario: parseScenario({
      seed: settings.seed,
      ratePerSecond: settings.ratePerSecond,
      ...(settings.experiment ? { experiment: demoExperiment } : {}),
    }),
    sink,
    logger: log,
    from,
    ...(resume === undefined ? {} : { alreadySentUntil: resume }),
    onProgress: async (sentUntil) => {
      if (Date.now() - lastSaved < 1000) return
      lastSaved = Date.now()
      await writeFile(progressFile, JSON.stringify({ seed: settings.seed, sentUntil }))
    },
  })
  log.info(
    {
      sink: sink.name,
      ratePerSecond: settings.ratePerSecond,
      from: new Date(from).toISOString(),
      resumed: resume !== undefined,
    },
    'simulator started',
  )
  return player
}
