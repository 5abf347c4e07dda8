import path from 'node:path'
import { parseScenario, simulate } from '@cpi/simulator'

export const MINUTE = 60_000

/** fast_quote with a one-day objective: page tier 6× over 12 min and 1 min (14.4× cannot fire at 90 %). */
export const dailyObjectiveCatalog = path.join(
  import.meta.dirname,
  '../fixtures/fast-quote-daily-objective.json',
)

/**
 * Two hours of quotes and calls ending about an hour ago, all healthy, except web quotes get 30×
 * slower from minute 40 to minute 70: the page for (fast_quote, channel=web) must fire and resolve.
 */
export function plantedDrop(seed = 7) {
  const start = Math.floor((Date.now() - 3 * 60 * MINUTE) / MINUTE) * MINUTE
  const dropFrom = start + 40 * MINUTE
  const dropTo = start + 70 * MINUTE
  const healthy = (names: string[]) =>
    Object.fromEntries(names.map((name) => [name, { medianSeconds: 4, sigma: 0.4 }]))
  const simulation = simulate(
    parseScenario({
      seed,
      ratePerSecond: 3,
      mix: { quote: 0.7, delivery: 0, ticket: 0, call: 0.3 },
      malformedShare: 0,
      latency: {
        quoteConsumer: healthy(['web', 'phone', 'agent', 'broker', 'partner']),
        callWait: healthy(['claims', 'billing', 'sales']),
      },
      drops: [
        {
          cpi: 'fast_quote',
          where: { channel: 'web' },
          from: new Date(dropFrom).toISOString(),
          to: new Date(dropTo).toISOString(),
          latencyFactor: 30,
        },
      ],
    }),
    { from: start, to: start + 120 * MINUTE },
  )
  return { simulation, start, dropFrom, dropTo, end: start + 120 * MINUTE }
}

export const isWebPage = (labels: Record<string, string>) =>
  labels.cpi === 'fast_quote' &&
  labels.dimension === 'channel' &&
  labels.segment === 'web' &&
  labels.severity === 'page'
