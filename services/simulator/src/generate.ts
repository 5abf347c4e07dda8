import type { RejectReason } from '@cpi/schemas'
import type {
  CallFact,
  CheckoutFact,
  DeliveryFact,
  Fact,
  InteractionFact,
  QuoteFact,
  SurveyFact,
  TicketFact,
  TicketStep,
  ValueFact,
} from './facts.ts'
import { firstTimeResolution, nothingBroke } from './ground-truth.ts'
import { Random } from './random.ts'
import { type CpiName, type Duration, durations, type Scenario } from './scenario.ts'

const { MINUTE, HOUR, DAY } = durations
const SECOND = 1000

/** One message the simulator sends: its key, its text, when it happened and when it is sent. */
export interface SimulatedEvent {
  id: string
  type: string
  subject: string
  /** Event time (ms). */
  time: number
  /** When the simulator sends it (ms): the event time, or later when late, reordered or repeated. */
  arrival: number
  key: string
  text: string
  duplicate?: true
  /** Set for deliberately invalid events: the reason the pipeline must give. */
  invalid?: RejectReason
}

export interface Simulation {
  facts: Fact[]
  events: SimulatedEvent[]
  stats: {
    interactions: number
    events: number
    duplicates: number
    invalid: Partial<Record<RejectReason, number>>
  }
}

const REGIONS = ['north', 'south', 'east', 'west'] as const
const PRODUCTS = ['home', 'motor', 'travel', 'pet'] as const
const CARRIERS = ['parcelco', 'swiftship', 'cargoline'] as const
const CATEGORIES = ['billing', 'claims', 'technical', 'account'] as const
const PRIORITIES = ['low', 'normal', 'high'] as const

function poisson(random: Random, mean: number): number {
  if (mean <= 0) return 0
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * random.normal()))
  const limit = Math.exp(-mean)
  let product = random.next()
  let count = 0
  while (product > limit) {
    count++
    product *= random.next()
  }
  return count
}

/** A log-normal duration in ms, its tail cut at three sigmas (no ticket resolved next year). */
const draw = (random: Random, duration: Duration) =>
  Math.min(
    random.logNormal(duration.medianSeconds, duration.sigma),
    duration.medianSeconds * Math.exp(3 * duration.sigma),
  ) * SECOND

/**
 * Generates every interaction that starts in [from, to), with all of its events (follow-ups
 * included, even when they fall after `to`). Each minute is drawn from its own seeded stream,
 * so any range is reproducible on its own and two adjacent ranges join without a seam.
 */
export function simulate(scenario: Scenario, range: { from: number; to: number }): Simulation {
  const facts: Fact[] = []
  const events: SimulatedEvent[] = []
  const stats: Simulation['stats'] = { interactions: 0, events: 0, duplicates: 0, invalid: {} }
  const firstMinute = Math.floor(range.from / MINUTE)
  const lastMinute = Math.ceil(range.to / MINUTE)
  for (let minute = firstMinute; minute < lastMinute; minute++) {
    const random = Random.derive(scenario.seed, `minute:${minute}`)
    const count = poisson(random, scenario.ratePerSecond * 60)
    const starts = Array.from(
      { length: count },
      () => minute * MINUTE + Math.floor(random.next() * MINUTE),
    ).sort((a, b) => a - b)
    for (const [index, startedAt] of starts.entries()) {
      const kind = random.weighted(scenario.mix)
      if (startedAt < range.from || startedAt >= range.to) {
        // Still drawn (and discarded) so the stream of the minute stays the same whatever the range.
        drawInteraction(kind, random, scenario, `${minute}-${index}`, startedAt)
        continue
      }
      const fact = drawInteraction(kind, random, scenario, `${minute}-${index}`, startedAt)
      const survey = drawSurvey(fact, random, scenario)
      facts.push(fact)
      stats.interactions++
      const rendered = renderInteraction(fact)
      if (survey) {
        facts.push(survey)
        rendered.push(renderSurvey(survey))
      }
      const kpi = drawKpiEvents(fact, random, scenario)
      rendered.push(...kpi.drawn)
      const sent = applyDeliveryFaults(rendered, random, scenario).filter(
        (event) => !kpi.suppressed.has(event.id),
      )
      for (const event of kpi.added)
        sent.push(...applyDeliveryFaults([event], Random.derive(scenario.seed, event.id), scenario))
      for (const event of sent) {
        events.push(event)
        if (event.duplicate) stats.duplicates++
      }
    }
    // Checkouts and value credits come from streams of their own: the minute's main stream (and
    // every interaction drawn from it) is the same whatever their shares.
    const extra = Random.derive(scenario.seed, `minute:${minute}:checkout-value`)
    for (const [kind, share] of [
      ['checkout', scenario.checkoutShare],
      ['value', scenario.valueShare],
    ] as const) {
      const extraCount = poisson(extra, scenario.ratePerSecond * 60 * share)
      for (let index = 0; index < extraCount; index++) {
        const at = minute * MINUTE + Math.floor(extra.next() * MINUTE)
        const serial = `${minute}-${index}`
        const fact =
          kind === 'checkout'
            ? drawCheckout(extra, { ...extraBase(extra, at), subject: `K-s${scenario.seed}-${serial}` })
            : drawValue(extra, { ...extraBase(extra, at), subject: `V-s${scenario.seed}-${serial}` })
        if (at < range.from || at >= range.to) continue
        facts.push(fact)
        stats.interactions++
        const rendered = fact.kind === 'checkout' ? renderCheckout(fact) : [renderValue(fact)]
        for (const event of applyDeliveryFaults(
          rendered,
          Random.derive(scenario.seed, fact.subject),
          scenario,
        )) {
          events.push(event)
          if (event.duplicate) stats.duplicates++
        }
      }
    }
    const invalidCount = poisson(random, scenario.ratePerSecond * 60 * scenario.malformedShare)
    for (let index = 0; index < invalidCount; index++) {
      const at = minute * MINUTE + Math.floor(random.next() * MINUTE)
      if (at < range.from || at >= range.to) continue
      const event = invalidEvent(random, scenario, `${minute}-${index}`, at)
      events.push(event)
      stats.invalid[event.invalid as RejectReason] = (stats.invalid[event.invalid as RejectReason] ?? 0) + 1
    }
  }
  events.sort((a, b) => a.arrival - b.arrival || a.id.localeCompare(b.id))
  stats.events = events.length
  return { facts, events, stats }
}

function slowdown(scenario: Scenario, cpi: CpiName, at: number, segments: Record<string, string>): number {
  let factor = 1
  for (const drop of scenario.drops) {
    if (drop.cpi !== cpi || at < Date.parse(drop.from) || at >= Date.parse(drop.to)) continue
    if (Object.entries(drop.where).every(([key, value]) => segments[key] === value))
      factor *= drop.latencyFactor
  }
  return factor
}

function drawInteraction(
  kind: keyof Scenario['mix'],
  random: Random,
  scenario: Scenario,
  serial: string,
  startedAt: number,
): InteractionFact {
  const base = {
    startedAt,
    customerId: `cust-${random.integer(1, 5000)}`,
    region: random.pick(REGIONS),
  }
  switch (kind) {
    case 'quote':
      return drawQuote(random, scenario, { ...base, subject: `Q-s${scenario.seed}-${serial}` })
    case 'delivery':
      return drawDelivery(random, scenario, { ...base, subject: `D-s${scenario.seed}-${serial}` })
    case 'ticket':
      return drawTicket(random, scenario, { ...base, subject: `T-s${scenario.seed}-${serial}` })
    case 'call':
      return drawCall(random, scenario, { ...base, subject: `C-s${scenario.seed}-${serial}` })
  }
}

type Base = { subject: string; startedAt: number; customerId: string; region: string }

function drawQuote(random: Random, scenario: Scenario, base: Base): QuoteFact {
  const customerType = random.chance(0.8) ? 'consumer' : 'business'
  const channel = random.weighted({ web: 0.45, phone: 0.2, agent: 0.15, broker: 0.1, partner: 0.1 })
  const fact: QuoteFact = { ...base, kind: 'quote', customerType, channel, product: random.pick(PRODUCTS) }
  let acceptance = 1
  let factor = slowdown(scenario, 'fast_quote', base.startedAt, {
    channel,
    region: base.region,
    customerType,
  })
  if (scenario.experiment) {
    const variant = random.weighted(scenario.experiment.variants)
    fact.experiment = { id: scenario.experiment.id, variant }
    factor *= scenario.experiment.latencyFactor[variant] ?? 1
    acceptance = scenario.experiment.acceptanceFactor[variant] ?? 1
  }
  const profile =
    customerType === 'business'
      ? scenario.latency.quoteBusiness
      : (scenario.latency.quoteConsumer[channel] ?? { medianSeconds: 15, sigma: 0.8 })
  const latency = draw(random, profile) * factor
  const never = random.chance(0.02)
  const declined = random.chance(0.1)
  if (!never)
    fact.answer = { kind: declined ? 'declined' : 'issued', at: base.startedAt + Math.round(latency) }
  // Customers accept fast quotes more often: the CPI→KPI link the analytics will show.
  const acceptChance =
    latency <= 30 * SECOND ? 0.35 : latency <= 5 * MINUTE ? 0.25 : latency <= HOUR ? 0.15 : 0.08
  if (fact.answer?.kind === 'issued' && random.chance(Math.min(1, acceptChance * acceptance))) {
    fact.acceptedAt = fact.answer.at + Math.round(random.between(30 * SECOND, 2 * DAY))
  }
  return fact
}

function drawDelivery(random: Random, scenario: Scenario, base: Base): DeliveryFact {
  const carrier = random.pick(CARRIERS)
  const promisedBy = base.startedAt + Math.round(random.between(1, 3) * DAY)
  const items = random.integer(1, 12)
  const fact: DeliveryFact = {
    ...base,
    kind: 'delivery',
    promisedBy,
    items,
    fragile: random.chance(0.3),
    carrier,
  }
  if (random.chance(0.01)) return fact // never delivered: a miss once the promise passes
  const factor = slowdown(scenario, 'on_time_in_full', base.startedAt, { carrier, region: base.region })
  const offset = (-8 + 8 * random.normal()) * HOUR + (factor - 1) * 12 * HOUR
  const at = Math.max(base.startedAt + HOUR, promisedBy + Math.round(offset))
  const short = random.chance(0.04) && items > 1
  fact.delivered = { at, items: short ? items - random.integer(1, items - 1) : items }
  if (random.chance(fact.fragile ? 0.08 : 0.02)) {
    // Some reports come after the 7-day window and must not count.
    fact.damage = {
      at: at + Math.round(random.between(0.2, 9) * DAY),
      items: random.integer(1, fact.delivered.items || 1),
    }
  }
  return fact
}

function drawTicket(random: Random, scenario: Scenario, base: Base): TicketFact {
  const channel = random.weighted({ email: 0.4, chat: 0.25, phone: 0.2, web: 0.15 })
  const fact: TicketFact = {
    ...base,
    kind: 'ticket',
    channel,
    category: random.pick(CATEGORIES),
    priority: random.pick(PRIORITIES),
    steps: [],
  }
  const segments = { channel, region: base.region, category: fact.category }
  const steps: TicketStep[] = []
  if ((channel === 'chat' || channel === 'web') && random.chance(0.5)) {
    steps.push({ at: base.startedAt + 5 * SECOND, type: 'message', direction: 'outbound', author: 'bot' })
  }
  const replyProfile = scenario.latency.firstReply[channel] ?? { medianSeconds: 600, sigma: 1 }
  const replyAt =
    base.startedAt +
    Math.round(draw(random, replyProfile) * slowdown(scenario, 'first_reply_2h', base.startedAt, segments))
  steps.push({ at: replyAt, type: 'message', direction: 'outbound', author: 'agent' })
  if (random.chance(0.12)) {
    steps.push({
      at: replyAt + Math.round(random.between(1, 48) * HOUR),
      type: 'message',
      direction: 'inbound',
      author: 'customer',
    })
  }
  if (random.chance(0.07))
    steps.push({ at: replyAt + Math.round(random.between(1, 30) * MINUTE), type: 'transferred' })
  const resolutionFactor = slowdown(scenario, 'first_time_resolution', base.startedAt, segments)
  const resolvedAt = Math.max(
    replyAt + MINUTE,
    base.startedAt + Math.round(draw(random, scenario.latency.resolution) * resolutionFactor),
  )
  if (!random.chance(0.03)) {
    steps.push({ at: resolvedAt, type: 'resolved' })
    if (random.chance(0.06))
      steps.push({ at: resolvedAt + Math.round(random.between(0.5, 10) * DAY), type: 'reopened' })
    else if (random.chance(0.04)) {
      steps.push({
        at: resolvedAt + Math.round(random.between(0.5, 10) * DAY),
        type: 'message',
        direction: 'inbound',
        author: 'customer',
      })
    }
  }
  fact.steps = steps.sort((a, b) => a.at - b.at)
  return fact
}

function drawCall(random: Random, scenario: Scenario, base: Base): CallFact {
  const queue = random.weighted({ claims: 0.4, billing: 0.35, sales: 0.25 })
  const fact: CallFact = { ...base, kind: 'call', queue }
  const waitProfile = scenario.latency.callWait[queue] ?? { medianSeconds: 10, sigma: 0.7 }
  const wait =
    draw(random, waitProfile) *
    slowdown(scenario, 'phone_answer_20s', base.startedAt, { queue, region: base.region })
  const patience = draw(random, scenario.latency.callerPatience)
  // Times in whole milliseconds; a few land exactly on the 20 s boundary to exercise "≤".
  const exact = random.chance(0.01)
  if (patience < wait)
    fact.end = { kind: 'abandoned', at: base.startedAt + (exact ? 20 * SECOND : Math.round(patience)) }
  else fact.end = { kind: 'answered', at: base.startedAt + (exact ? 20 * SECOND : Math.round(wait)) }
  return fact
}

const extraBase = (random: Random, startedAt: number) => ({
  startedAt,
  customerId: `cust-${random.integer(1, 5000)}`,
  region: random.pick(REGIONS),
  product: random.pick(PRODUCTS),
})

const PAYMENT_METHODS = ['card', 'paypal', 'wallet', 'invoice', 'instalments', 'bank_transfer'] as const
/** How often a method is offered, per region: the east offers neither invoice nor instalments. */
const OFFERED_CHANCE: Record<string, Partial<Record<(typeof PAYMENT_METHODS)[number], number>>> = {
  north: { paypal: 0.9, wallet: 0.7, invoice: 0.8, instalments: 0.6, bank_transfer: 0.5 },
  south: { paypal: 0.9, wallet: 0.6, invoice: 0.5, instalments: 0.5, bank_transfer: 0.4 },
  east: { paypal: 0.7, wallet: 0.4, bank_transfer: 0.6 },
  west: { paypal: 0.95, wallet: 0.8, invoice: 0.7, instalments: 0.7, bank_transfer: 0.5 },
}

/**
 * A checkout: the methods it offers (card always, the others by region), the one the customer
 * wants, and how it ends. A quarter leave before the payment step; at payment, a customer whose
 * method is offered mostly pays with it, one whose method is not settles for another, leaves,
 * or (by phone or in a store) gets it arranged by hand.
 */
function drawCheckout(random: Random, base: Base & { product: string }): CheckoutFact {
  const channel = random.weighted({ web: 0.5, app: 0.3, store: 0.1, phone: 0.1 })
  const chances = OFFERED_CHANCE[base.region] ?? {}
  const offered = PAYMENT_METHODS.filter((method) => method === 'card' || random.chance(chances[method] ?? 0))
  const preferred = random.weighted({
    card: 0.45,
    paypal: 0.2,
    wallet: 0.12,
    invoice: 0.1,
    instalments: 0.08,
    bank_transfer: 0.05,
  })
  const fact: CheckoutFact = {
    ...base,
    kind: 'checkout',
    channel,
    offered,
    preferred,
    expiresAt: base.startedAt + HOUR,
  }
  const roll = random.next()
  if (roll < 0.02) return fact // the session lapses without a word: left out
  if (roll < 0.27) {
    const stage = random.pick(['cart', 'details', 'shipping'] as const)
    const reason = stage === 'shipping' ? 'shipping cost' : 'changed mind'
    fact.end = {
      kind: 'abandoned',
      at: base.startedAt + Math.round(random.between(30, 1200) * SECOND),
      stage,
      reason,
    }
    return fact
  }
  const atPayment = base.startedAt + Math.round(random.between(60, 600) * SECOND)
  const at = atPayment + Math.round(random.between(10, 180) * SECOND)
  if (offered.includes(preferred)) {
    fact.end = random.chance(0.96)
      ? { kind: 'completed', at, method: preferred }
      : { kind: 'abandoned', at, stage: 'payment', reason: 'payment declined' }
    return fact
  }
  const byHand = (channel === 'phone' || channel === 'store') && random.chance(0.5)
  const choice = random.weighted({ another: 0.45, leave: 0.5, lapse: 0.05 })
  if (byHand) fact.end = { kind: 'completed', at, method: preferred }
  else if (choice === 'another') fact.end = { kind: 'completed', at, method: random.pick(offered) }
  else if (choice === 'leave')
    fact.end = {
      kind: 'abandoned',
      at,
      stage: 'payment',
      reason: 'no suitable payment method',
      wanted: preferred,
    }
  return fact
}

const round2 = (value: number) => Math.round(value * 100) / 100

/**
 * A credit of value: savings in EUR, hours of service used, or claims settled; most with what the
 * customer was promised for it, which the east's savings reach less often.
 */
function drawValue(random: Random, base: Base & { product: string }): ValueFact {
  const valueKind = random.weighted({ savings: 0.5, usage: 0.3, outcome: 0.2 })
  const amount =
    valueKind === 'savings'
      ? round2(random.logNormal(20, 0.6))
      : valueKind === 'usage'
        ? random.integer(1, 40)
        : random.integer(1, 3)
  const fact: ValueFact = {
    kind: 'value',
    subject: base.subject,
    at: base.startedAt,
    customerId: base.customerId,
    region: base.region,
    product: base.product,
    valueKind,
    amount,
    unit: valueKind === 'savings' ? 'EUR' : valueKind === 'usage' ? 'hours' : 'claims',
    period: new Date(base.startedAt).toISOString().slice(0, 7),
  }
  if (random.chance(0.7)) {
    const factor =
      base.region === 'east' && valueKind === 'savings' ? random.between(0.8, 1.4) : random.between(0.6, 1.15)
    fact.promised =
      valueKind === 'savings' ? round2(amount * factor) : Math.max(1, Math.round(amount * factor))
  }
  return fact
}

function completionOf(fact: InteractionFact): { at: number; good: boolean } | undefined {
  switch (fact.kind) {
    case 'quote':
      return (
        fact.answer && {
          at: fact.answer.at,
          good: fact.answer.at - fact.startedAt <= (fact.customerType === 'consumer' ? 30 * SECOND : DAY),
        }
      )
    case 'delivery':
      return (
        fact.delivered && {
          at: fact.delivered.at,
          good: fact.delivered.at <= fact.promisedBy && !fact.damage,
        }
      )
    case 'ticket': {
      const resolved = fact.steps.find((step) => step.type === 'resolved')
      const failed = fact.steps.some(
        (step) =>
          step.type === 'transferred' ||
          step.type === 'reopened' ||
          (step.type === 'message' && step.direction === 'inbound' && step.author === 'customer'),
      )
      return resolved && { at: resolved.at, good: !failed }
    }
    case 'call':
      return (
        fact.end && {
          at: fact.end.at,
          good: fact.end.kind === 'answered' && fact.end.at - fact.startedAt <= 20 * SECOND,
        }
      )
  }
}

function drawSurvey(fact: InteractionFact, random: Random, scenario: Scenario): SurveyFact | undefined {
  const done = completionOf(fact)
  if (!done || !random.chance(scenario.surveyShare)) return undefined
  const weights = done.good
    ? { 5: 0.5, 4: 0.3, 3: 0.12, 2: 0.05, 1: 0.03 }
    : { 5: 0.1, 4: 0.2, 3: 0.3, 2: 0.2, 1: 0.2 }
  const survey: SurveyFact = {
    kind: 'survey',
    id: `${fact.subject}.survey`,
    subject: fact.subject,
    subjectType: fact.kind,
    at: done.at + Math.round(random.between(10 * MINUTE, 2 * DAY)),
    customerId: fact.customerId,
  }
  if (random.chance(0.9)) survey.csat = Number(random.weighted(weights))
  if (random.chance(0.7))
    survey.nps = Math.min(10, Math.max(0, Math.round((survey.csat ?? 3) * 2 + random.normal())))
  if (random.chance(0.5)) survey.ces = random.integer(1, 7)
  return survey
}

interface Draft {
  type: string
  subject: string
  time: number
  data?: Record<string, unknown>
  extensions?: Record<string, string>
}

function envelope(draft: Draft, id: string, source: string): SimulatedEvent {
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id,
    source,
    type: draft.type,
    time: new Date(draft.time).toISOString(),
    subject: draft.subject,
    ...draft.extensions,
  }
  if (draft.data) event.data = draft.data
  return {
    id,
    type: draft.type,
    subject: draft.subject,
    time: draft.time,
    arrival: draft.time,
    key: draft.subject,
    text: JSON.stringify(event),
  }
}

function renderInteraction(fact: InteractionFact): SimulatedEvent[] {
  const drafts: Draft[] = []
  const experiment = fact.experiment
    ? { experiment: fact.experiment.id, variant: fact.experiment.variant }
    : undefined
  const start = (type: string, data: Record<string, unknown>) =>
    drafts.push({
      type,
      subject: fact.subject,
      time: fact.startedAt,
      data,
      ...(experiment ? { extensions: experiment } : {}),
    })
  const then = (type: string, time: number, data?: Record<string, unknown>) =>
    drafts.push({ type, subject: fact.subject, time, ...(data ? { data } : {}) })
  let source = '/simulator'
  switch (fact.kind) {
    case 'quote':
      source = `/quoting/${fact.channel}`
      start('quote.requested', {
        customerId: fact.customerId,
        customerType: fact.customerType,
        channel: fact.channel,
        product: fact.product,
        region: fact.region,
      })
      if (fact.answer) {
        then(
          `quote.${fact.answer.kind}`,
          fact.answer.at,
          fact.answer.kind === 'issued'
            ? { amount: 100 + (fact.startedAt % 900), currency: 'EUR' }
            : { reason: 'outside underwriting rules' },
        )
      }
      if (fact.acceptedAt !== undefined)
        then('quote.accepted', fact.acceptedAt, { amount: 100 + (fact.startedAt % 900), currency: 'EUR' })
      break
    case 'delivery':
      source = `/logistics/${fact.carrier}`
      start('delivery.scheduled', {
        customerId: fact.customerId,
        promisedBy: new Date(fact.promisedBy).toISOString(),
        items: fact.items,
        fragile: fact.fragile,
        carrier: fact.carrier,
        region: fact.region,
      })
      if (fact.delivered)
        then('delivery.delivered', fact.delivered.at, { itemsDelivered: fact.delivered.items })
      if (fact.damage)
        then('delivery.damage_reported', fact.damage.at, {
          itemsDamaged: fact.damage.items,
          reason: 'damaged in transit',
        })
      break
    case 'ticket':
      source = `/support/${fact.channel}`
      start('ticket.opened', {
        customerId: fact.customerId,
        channel: fact.channel,
        category: fact.category,
        priority: fact.priority,
        region: fact.region,
      })
      for (const step of fact.steps) {
        if (step.type === 'message')
          then('ticket.message', step.at, {
            direction: step.direction,
            author: step.author,
            channel: fact.channel,
          })
        else if (step.type === 'transferred') then('ticket.transferred', step.at, { toTeam: 'second-line' })
        else then(`ticket.${step.type}`, step.at)
      }
      break
    case 'call':
      source = '/telephony/acd'
      start('call.queued', { queue: fact.queue, customerId: fact.customerId, region: fact.region })
      if (fact.end) then(`call.${fact.end.kind}`, fact.end.at)
      break
  }
  return drafts.map((draft, index) => envelope(draft, `${fact.subject}.${index}`, source))
}

function renderSurvey(survey: SurveyFact): SimulatedEvent {
  const data: Record<string, unknown> = { subjectType: survey.subjectType, customerId: survey.customerId }
  if (survey.csat !== undefined) data.csat = survey.csat
  if (survey.nps !== undefined) data.nps = survey.nps
  if (survey.ces !== undefined) data.ces = survey.ces
  return envelope(
    { type: 'survey.responded', subject: survey.subject, time: survey.at, data },
    survey.id,
    '/surveys/email',
  )
}

function renderCheckout(fact: CheckoutFact): SimulatedEvent[] {
  const drafts: Draft[] = [
    {
      type: 'checkout.started',
      subject: fact.subject,
      time: fact.startedAt,
      data: {
        customerId: fact.customerId,
        channel: fact.channel,
        region: fact.region,
        product: fact.product,
        offeredMethods: fact.offered,
        expiresAt: new Date(fact.expiresAt).toISOString(),
        amount: 20 + (fact.startedAt % 480),
        currency: 'EUR',
      },
    },
  ]
  const end = fact.end
  if (end?.kind === 'completed')
    drafts.push({
      type: 'checkout.completed',
      subject: fact.subject,
      time: end.at,
      data: { paymentMethod: end.method, amount: 20 + (fact.startedAt % 480), currency: 'EUR' },
    })
  else if (end)
    drafts.push({
      type: 'checkout.abandoned',
      subject: fact.subject,
      time: end.at,
      data: { stage: end.stage, reason: end.reason, ...(end.wanted ? { wantedMethod: end.wanted } : {}) },
    })
  return drafts.map((draft, index) => envelope(draft, `${fact.subject}.${index}`, `/shop/${fact.channel}`))
}

/** A value credit is an interaction of its own: its subject is its id. */
function renderValue(fact: ValueFact): SimulatedEvent {
  return envelope(
    {
      type: 'value.credited',
      subject: fact.subject,
      time: fact.at,
      data: {
        customerId: fact.customerId,
        kind: fact.valueKind,
        amount: fact.amount,
        unit: fact.unit,
        ...(fact.promised === undefined ? {} : { promised: fact.promised }),
        period: fact.period,
        product: fact.product,
        region: fact.region,
      },
    },
    fact.subject,
    '/billing/statements',
  )
}

/**
 * A KPI event drawn with probability `share × factor`: its delay after the reference (1 to 60
 * days), and how the planted effect changed it — 'suppressed' when it would have happened
 * without the effect, 'added' when it happens only because of it.
 */
type KpiRoll = { delay: number; effect: 'none' | 'suppressed' | 'added' }

/**
 * Draws a KPI event with probability `share × factor`, consuming exactly the draws it did before
 * effects were planted — `chance(share)`, then one delay on success — whatever the factor, so a
 * planted effect does not shift the minute's stream. Below `share` the delay is drawn as before
 * (the event is suppressed when the factor keeps it out); between `share` and `share × factor`
 * the uniform draw itself, rescaled, gives the delay.
 */
function rollKpi(random: Random, share: number, factor: number): KpiRoll | undefined {
  const chance = Math.min(1, share * factor)
  const roll = random.next()
  if (roll < share) {
    const delay = random.between(1, 60) * DAY
    return { delay, effect: roll < chance ? 'none' : 'suppressed' }
  }
  if (roll < chance) return { delay: (1 + (59 * (roll - share)) / (chance - share)) * DAY, effect: 'added' }
  return undefined
}

interface KpiEvents {
  /** Events that go through the interaction's delivery faults (suppressed ones included). */
  drawn: SimulatedEvent[]
  /** Ids of drawn events to drop after the faults: kept out by a planted effect. */
  suppressed: Set<string>
  /** Events that exist only because of a planted effect (faults from their own stream). */
  added: SimulatedEvent[]
}

/**
 * The interaction's `order.placed` and `customer.churned` events, recorded in `fact.kpi`. Planted
 * effects (scenario.kpiEffects) follow the CPI outcome as finally known: a broken delivery
 * (nothing_broke a miss) makes the follow-up order less likely, a ticket that fails first-time
 * resolution makes a churn more likely. Every other fact and event stays exactly what it is
 * without the effects: a suppressed event is still drawn and sent through the delivery faults
 * (then dropped), an added one draws its faults from a stream of its own.
 */
function drawKpiEvents(fact: InteractionFact, random: Random, scenario: Scenario): KpiEvents {
  const out: KpiEvents = { drawn: [], suppressed: new Set(), added: [] }
  const keep = (roll: KpiRoll, event: SimulatedEvent, record: () => void) => {
    if (roll.effect === 'added') out.added.push(event)
    else out.drawn.push(event)
    if (roll.effect === 'suppressed') out.suppressed.add(event.id)
    else record()
  }
  const effects = scenario.kpiEffects
  const broken = fact.kind === 'delivery' && nothingBroke(fact, Number.POSITIVE_INFINITY).state === 'bad'
  const failed = fact.kind === 'ticket' && firstTimeResolution(fact, Number.POSITIVE_INFINITY).state === 'bad'
  const order = rollKpi(random, scenario.orderShare, broken ? effects.repeatOrderAfterBrokenFactor : 1)
  if (order) {
    // A delivery's follow-up order comes after the parcel arrived (after the order when it never did).
    const reference = fact.kind === 'delivery' ? (fact.delivered?.at ?? fact.startedAt) : fact.startedAt
    const at = reference + Math.round(order.delay)
    const event = envelope(
      {
        type: 'order.placed',
        subject: `O-${fact.subject}`,
        time: at,
        data: { customerId: fact.customerId, amount: 50, currency: 'EUR' },
      },
      `O-${fact.subject}.0`,
      '/shop/web',
    )
    keep(order, event, () => {
      fact.kpi = { ...fact.kpi, orderAt: at }
    })
  }
  const churn = rollKpi(random, scenario.churnShare, failed ? effects.churnAfterFailedResolutionFactor : 1)
  if (churn) {
    const at = fact.startedAt + Math.round(churn.delay)
    const event = envelope(
      {
        type: 'customer.churned',
        subject: fact.customerId,
        time: at,
        data: { customerId: fact.customerId },
      },
      `X-${fact.subject}.0`,
      '/crm',
    )
    keep(churn, event, () => {
      fact.kpi = { ...fact.kpi, churnAt: at }
    })
  }
  return out
}

function applyDeliveryFaults(events: SimulatedEvent[], random: Random, scenario: Scenario): SimulatedEvent[] {
  const out = events.map((event) => ({ ...event }))
  for (const event of out) {
    if (random.chance(scenario.lateShare))
      event.arrival = event.time + Math.round(random.between(0, scenario.lateMaxMs))
  }
  // Out of order: the completion arrives before the request (when it follows within half an
  // hour: a short disorder, well within any revision horizon).
  const [first, second] = out
  if (first && second && second.time - first.time < HOUR / 2 && random.chance(scenario.outOfOrderShare)) {
    first.arrival = Math.max(first.arrival, second.arrival + Math.round(random.between(1, 5000)))
  }
  const duplicates: SimulatedEvent[] = []
  for (const event of out) {
    if (random.chance(scenario.duplicateShare)) {
      duplicates.push({
        ...event,
        arrival: event.arrival + Math.round(random.between(1, 60) * SECOND),
        duplicate: true,
      })
    }
  }
  return [...out, ...duplicates]
}

/** A deliberately invalid event, one of each kind the pipeline must reject with its reason. */
function invalidEvent(random: Random, scenario: Scenario, serial: string, at: number): SimulatedEvent {
  const id = `BAD-s${scenario.seed}-${serial}`
  const subject = `BAD-s${scenario.seed}-${serial}`
  const base = {
    specversion: '1.0',
    id,
    source: '/simulator/faulty',
    time: new Date(at).toISOString(),
    subject,
  }
  const kind = random.weighted({
    invalid_field: 3,
    unknown_type: 1,
    malformed_json: 2,
    time_in_future: 1,
    not_an_object: 1,
  })
  let text: string
  switch (kind) {
    case 'invalid_field':
      text = JSON.stringify({
        ...base,
        type: 'delivery.scheduled',
        data: { customerId: 'c', promisedBy: 'tomorrow', items: 'three' },
      })
      break
    case 'unknown_type':
      text = JSON.stringify({ ...base, type: 'quote.teleported', data: {} })
      break
    case 'malformed_json':
      text = JSON.stringify({ ...base, type: 'call.answered' }).slice(0, 40)
      break
    case 'time_in_future':
      text = JSON.stringify({ ...base, type: 'call.answered', time: '2099-01-01T00:00:00Z' })
      break
    case 'not_an_object':
      text = JSON.stringify(`call ${id} answered`)
      break
  }
  return { id, type: 'invalid', subject, time: at, arrival: at, key: subject, text, invalid: kind }
}
