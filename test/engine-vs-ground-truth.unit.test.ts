import {
  type CpiDefinition,
  decideInteraction,
  decideResponse,
  type InteractionEvent,
  loadCatalog,
} from '@cpi/cpi-core'
import { groundTruth, parseScenario, simulate } from '@cpi/simulator'
import { describe, expect, it } from 'vitest'

// The engine's generic decisions, driven by the declarative catalog, against the simulator's
// independent ground truth: every interaction, every built-in CPI, several "as of" times,
// from the events as they would arrive (duplicates, reordering and lateness included).

const HOUR = 3_600_000
const DAY = 24 * HOUR
const from = Date.parse('2026-10-01T00:00:00Z')

function eventsBySubject(texts: readonly string[]): Map<string, InteractionEvent[]> {
  const bySubject = new Map<string, InteractionEvent[]>()
  for (const text of texts) {
    const event = JSON.parse(text) as {
      id: string
      type: string
      time: string
      subject: string
      data?: Record<string, unknown>
    }
    const list = bySubject.get(event.subject) ?? []
    list.push({ id: event.id, type: event.type, time: Date.parse(event.time), data: event.data ?? {} })
    bySubject.set(event.subject, list)
  }
  return bySubject
}

function engineOutcomes(
  catalog: CpiDefinition[],
  bySubject: Map<string, InteractionEvent[]>,
  watermark: number,
) {
  const outcomes = new Map<string, { state: string; status?: string; latencyMs?: number }>()
  for (const definition of catalog) {
    for (const [subject, events] of bySubject) {
      if (definition.shape === 'survey') {
        for (const event of events) {
          if (event.type !== definition.response.type) continue
          const decision = decideResponse(definition, event, watermark)
          outcomes.set(`${definition.name}|${subject}`, pick(decision))
        }
        continue
      }
      const decision = decideInteraction(definition, events, watermark)
      if (decision) outcomes.set(`${definition.name}|${subject}`, pick(decision))
    }
  }
  return outcomes
}

const pick = (decision: { state: string; status?: string; latencyMs?: number }) => ({
  state: decision.state,
  ...(decision.status ? { status: decision.status } : {}),
  ...(decision.latencyMs === undefined ? {} : { latencyMs: decision.latencyMs }),
})

describe('the engine agrees with the ground truth, interaction by interaction', async () => {
  const catalog = await loadCatalog()
  const simulation = simulate(parseScenario({ seed: 31, ratePerSecond: 3 }), { from, to: from + 2 * HOUR })
  const valid = simulation.events.filter((event) => !event.invalid)

  it.each([
    ['while everything is still open', from + HOUR],
    ['at the end of the run', from + 2 * HOUR + 60_000],
    ['a day later', from + DAY],
    ['five days later (follow-up windows open)', from + 5 * DAY],
    ['a month later (everything final)', from + 30 * DAY],
  ])('as of %s', (_label, asOf) => {
    // Every event that happened by then, in arrival order, duplicates included (the watermark
    // has reached asOf: late events within the allowed lateness have arrived).
    const happened = valid.filter((event) => event.time <= asOf).map((event) => event.text)
    const engine = engineOutcomes(catalog, eventsBySubject(happened), asOf)
    const truth = groundTruth(simulation.facts, { asOf })
    let compared = 0
    const disagreements: string[] = []
    for (const expected of truth.outcomes) {
      const key = `${expected.cpi}|${expected.subject}`
      const want = pick(expected)
      const got = engine.get(key) ?? { state: 'missing' }
      engine.delete(key)
      compared++
      if (JSON.stringify(got) !== JSON.stringify(want) && disagreements.length < 10) {
        disagreements.push(`${key}: engine ${JSON.stringify(got)}, truth ${JSON.stringify(want)}`)
      }
    }
    expect(disagreements).toEqual([])
    // Nothing the engine decided is unknown to the ground truth.
    expect([...engine.keys()].slice(0, 10)).toEqual([])
    expect(compared).toBeGreaterThan(10_000)
  })
})
