import { parseAndValidate } from '@cpi/schemas'
import { describe, expect, it } from 'vitest'
import { type SimulatedEvent, type Simulation, simulate } from './generate.ts'
import { groundTruth } from './ground-truth.ts'
import { parseScenario } from './scenario.ts'

const from = Date.parse('2026-11-01T00:00:00Z')
const HOUR = 3_600_000
const DAY = 24 * HOUR

describe('simulate', () => {
  const scenario = parseScenario({ seed: 5, ratePerSecond: 5 })
  const run = simulate(scenario, { from, to: from + HOUR })

  it('is deterministic by seed, and another seed gives another stream', () => {
    const again = simulate(scenario, { from, to: from + HOUR })
    expect(again.events.map((event) => event.text)).toEqual(run.events.map((event) => event.text))
    const other = simulate(parseScenario({ seed: 6, ratePerSecond: 5 }), { from, to: from + HOUR })
    expect(other.events[0]?.text).not.toEqual(run.events[0]?.text)
  })

  it('joins two adjacent ranges without a seam: the same as one range', () => {
    const first = simulate(scenario, { from, to: from + HOUR / 2 })
    const second = simulate(scenario, { from: from + HOUR / 2, to: from + HOUR })
    const joined = [...first.events, ...second.events].map((event) => event.id).sort()
    expect(joined).toEqual(run.events.map((event) => event.id).sort())
  })

  it('draws every v1 event type, all valid, and every planted invalid event is rejected for its reason', () => {
    const types = new Set(run.events.filter((event) => !event.invalid).map((event) => event.type))
    expect([...types].sort()).toEqual([
      'call.abandoned',
      'call.answered',
      'call.queued',
      'checkout.abandoned',
      'checkout.completed',
      'checkout.started',
      'customer.churned',
      'delivery.damage_reported',
      'delivery.delivered',
      'delivery.scheduled',
      'order.placed',
      'quote.accepted',
      'quote.declined',
      'quote.issued',
      'quote.requested',
      'survey.responded',
      'ticket.message',
      'ticket.opened',
      'ticket.reopened',
      'ticket.resolved',
      'ticket.transferred',
      'value.credited',
    ])
    for (const event of run.events) {
      const result = parseAndValidate(event.text, { now: event.arrival })
      if (event.invalid) expect(result).toMatchObject({ ok: false, reason: event.invalid })
      else if (!result.ok)
        throw new Error(`simulated event rejected: ${event.text} ${JSON.stringify(result.errors)}`)
    }
    expect(Object.keys(run.stats.invalid).sort()).toEqual([
      'invalid_field',
      'malformed_json',
      'not_an_object',
      'time_in_future',
      'unknown_type',
    ])
  })

  it('draws checkouts and value credits from streams of their own: the other interactions stay as they were', () => {
    const without = simulate(parseScenario({ seed: 5, ratePerSecond: 5, checkoutShare: 0, valueShare: 0 }), {
      from,
      to: from + HOUR,
    })
    const others = run.events.filter((event) => !/^[KV]-/.test(event.subject)).map((event) => event.text)
    expect(others).toEqual(without.events.map((event) => event.text))
    const checkouts = run.facts.filter((fact) => fact.kind === 'checkout')
    const credits = run.facts.filter((fact) => fact.kind === 'value')
    // 5 a second × 0.15 and × 0.1 over an hour, give or take.
    expect(checkouts.length).toBeGreaterThan(2400)
    expect(credits.length).toBeGreaterThan(1600)
    // Every way a checkout ends, and credits with and without a promise.
    const ends = new Set(
      checkouts.map((fact) =>
        !fact.end
          ? 'lapsed'
          : fact.end.kind === 'abandoned'
            ? `abandoned at ${fact.end.stage}`
            : fact.offered.includes(fact.end.method)
              ? 'paid with an offered method'
              : 'paid by hand',
      ),
    )
    expect([...ends].sort()).toEqual([
      'abandoned at cart',
      'abandoned at details',
      'abandoned at payment',
      'abandoned at shipping',
      'lapsed',
      'paid by hand',
      'paid with an offered method',
    ])
    expect(credits.some((fact) => fact.promised === undefined)).toBe(true)
    expect(new Set(credits.map((fact) => `${fact.valueKind} ${fact.unit}`))).toEqual(
      new Set(['savings EUR', 'usage hours', 'outcome claims']),
    )
    // A value credit's event is named by the credit: its id is its subject.
    for (const event of run.events.filter((candidate) => candidate.type === 'value.credited'))
      expect(event.id).toBe(event.subject)
  })

  it('plants duplicates (same id and text), late and out-of-order arrivals', () => {
    const duplicates = run.events.filter((event) => event.duplicate)
    expect(duplicates.length).toBeGreaterThan(100)
    const originals = new Map(
      run.events.filter((event) => !event.duplicate).map((event) => [event.id, event.text]),
    )
    for (const duplicate of duplicates) expect(originals.get(duplicate.id)).toBe(duplicate.text)
    expect(run.events.some((event) => event.arrival > event.time + 10_000 && !event.duplicate)).toBe(true)
    // Some interaction's completion is sent before its request.
    const firstArrival = new Map<string, { type: string }>()
    for (const event of run.events)
      if (!firstArrival.has(event.subject)) firstArrival.set(event.subject, event)
    expect(
      [...firstArrival.values()].some((event) => ['quote.issued', 'call.answered'].includes(event.type)),
    ).toBe(true)
    // Events are in arrival order.
    expect(
      run.events.every(
        (event, index) => index === 0 || (run.events[index - 1]?.arrival ?? 0) <= event.arrival,
      ),
    ).toBe(true)
  })

  it('plants a drop: the named segment misses more during the drop, the others do not', () => {
    const dropScenario = parseScenario({
      seed: 5,
      ratePerSecond: 5,
      drops: [
        {
          cpi: 'fast_quote',
          where: { channel: 'web' },
          from: new Date(from + HOUR / 2).toISOString(),
          to: new Date(from + HOUR).toISOString(),
          latencyFactor: 10,
        },
      ],
    })
    const dropped = simulate(dropScenario, { from, to: from + HOUR })
    const truth = groundTruth(dropped.facts, { asOf: from + 3 * HOUR, windowMs: HOUR / 2 })
    const ratio = (window: number, value: string) => {
      const row = truth.rows.find(
        (candidate) =>
          candidate.cpi === 'fast_quote' &&
          candidate.dimension === 'channel' &&
          candidate.value === value &&
          candidate.windowStart === new Date(from + (window * HOUR) / 2).toISOString(),
      )
      return (row?.good ?? 0) / (row?.total ?? 1)
    }
    expect(ratio(0, 'web')).toBeGreaterThan(0.8)
    expect(ratio(1, 'web')).toBeLessThan(0.3)
    expect(ratio(1, 'phone')).toBeGreaterThan(0.6)
  })

  it("records each KPI event in its interaction fact; a delivery's order comes 1 to 60 days after it arrived", () => {
    const sent = new Map(
      run.events
        .filter(
          (event) => !event.duplicate && (event.type === 'order.placed' || event.type === 'customer.churned'),
        )
        .map((event) => [event.id, event.time]),
    )
    const recorded = new Map<string, number>()
    for (const fact of run.facts) {
      if (fact.kind === 'survey' || fact.kind === 'value') continue
      if (fact.kpi?.orderAt !== undefined) recorded.set(`O-${fact.subject}.0`, fact.kpi.orderAt)
      if (fact.kpi?.churnAt !== undefined) recorded.set(`X-${fact.subject}.0`, fact.kpi.churnAt)
      if (fact.kind === 'delivery' && fact.kpi?.orderAt !== undefined) {
        const after = fact.kpi.orderAt - (fact.delivered?.at ?? fact.startedAt)
        expect(after).toBeGreaterThanOrEqual(DAY)
        expect(after).toBeLessThanOrEqual(60 * DAY)
      }
    }
    expect(recorded.size).toBeGreaterThan(500)
    expect(recorded).toEqual(sent)
  })

  it('plants the KPI effects without changing anything else', () => {
    const neutral = simulate(
      parseScenario({
        seed: 5,
        ratePerSecond: 5,
        kpiEffects: { repeatOrderAfterBrokenFactor: 1, churnAfterFailedResolutionFactor: 1 },
      }),
      { from, to: from + HOUR },
    )
    const isKpi = (event: SimulatedEvent) =>
      event.type === 'order.placed' || event.type === 'customer.churned'
    const others = (simulation: Simulation) =>
      simulation.events.filter((event) => !isKpi(event)).map((event) => JSON.stringify(event))
    expect(others(run)).toEqual(others(neutral))
    const withoutKpi = (simulation: Simulation) =>
      simulation.facts.map((fact) => ({ ...fact, kpi: undefined }))
    expect(withoutKpi(run)).toEqual(withoutKpi(neutral))
    // The effects do change the KPI events: fewer orders after broken deliveries, more churns.
    const count = (simulation: Simulation, type: string) =>
      simulation.events.filter((event) => event.type === type && !event.duplicate).length
    expect(count(run, 'customer.churned')).toBeGreaterThan(count(neutral, 'customer.churned'))
    expect(count(run, 'order.placed')).toBeLessThan(count(neutral, 'order.placed'))
  })

  it('assigns experiment variants and applies their effect', () => {
    const experiment = parseScenario({
      seed: 9,
      ratePerSecond: 5,
      experiment: { id: 'fastquote-routing', variants: { A: 1, B: 1 }, latencyFactor: { B: 3 } },
    })
    const simulation = simulate(experiment, { from, to: from + HOUR })
    const requests = simulation.events.filter((event) => event.type === 'quote.requested' && !event.duplicate)
    const variants = requests.map((event) => JSON.parse(event.text).variant)
    expect(new Set(variants)).toEqual(new Set(['A', 'B']))
    const truth = groundTruth(simulation.facts, { asOf: from + 3 * HOUR })
    const byVariant = { A: { good: 0, total: 0 }, B: { good: 0, total: 0 } }
    const variantOf = new Map(
      simulation.facts.flatMap((fact) =>
        fact.kind === 'quote' ? [[fact.subject, fact.experiment?.variant]] : [],
      ),
    )
    for (const outcome of truth.outcomes) {
      if (outcome.cpi !== 'fast_quote' || outcome.state === 'pending') continue
      const variant = (variantOf.get(outcome.subject) ?? 'A') as 'A' | 'B'
      byVariant[variant].total++
      if (outcome.state === 'good') byVariant[variant].good++
    }
    expect(byVariant.A.good / byVariant.A.total).toBeGreaterThan(byVariant.B.good / byVariant.B.total + 0.1)
  })
})
