import {
  type AlertLabels,
  fingerprint,
  idempotencyKey,
  type NotificationGroup,
  type Transition,
} from '@cpi/alerting'
import { createLogger } from '@cpi/logger'
import { describe, expect, it } from 'vitest'
import { backoffMs, createOutbox, type DeliveryOutcome, type Receiver } from './delivery.ts'

const logger = createLogger({ service: 'test', level: 'silent' })
const T = Date.parse('2026-11-22T10:00:00Z')

function group(segment: string, seq = 2): NotificationGroup {
  const labels: AlertLabels = {
    alertname: 'CpiBurnRate',
    cpi: 'fast_quote',
    dimension: 'channel',
    segment,
    severity: 'page',
    rule: 'burn_rate',
  }
  const key = fingerprint(labels)
  const transition: Transition = {
    fingerprint: key,
    from: 'pending',
    to: 'firing',
    at: T,
    seq,
    notify: true,
    alert: {
      fingerprint: key,
      labels,
      annotations: {
        summary: segment,
        description: '',
        runbook: '',
        dashboard: '',
        cpiDisplayName: 'Fast quote',
      },
      state: 'firing',
      activeSince: T - 120_000,
      firedAt: T,
      resolvedAt: null,
      value: 8,
      threshold: 6,
      updatedAt: T,
      seq,
    },
  }
  return {
    groupKey: '{cpi="fast_quote",severity="page"}',
    commonLabels: { cpi: 'fast_quote', severity: 'page' },
    status: 'firing',
    transitions: [transition],
  }
}

/** A receiver that answers from a script: `true` acknowledges, `false` fails; it remembers each call. */
function receiver(name: string, script: boolean[] | boolean = true) {
  const calls: { key: string; group: NotificationGroup }[] = []
  const fake: Receiver & { calls: typeof calls } = {
    name,
    calls,
    async send(sent, key) {
      calls.push({ key, group: sent })
      const ok = Array.isArray(script) ? (script[calls.length - 1] ?? script[script.length - 1]) : script
      if (!ok) throw new Error(`HTTP 503 from ${name}`)
    },
  }
  return fake
}

/** An outbox with a hand-moved clock and a recording settle that fails when told to. */
function outbox(maxAttempts = 4, settleFailures = 0) {
  const clock = { now: T }
  const settled: DeliveryOutcome[] = []
  let failuresLeft = settleFailures
  const box = createOutbox({
    maxAttempts,
    logger,
    now: () => clock.now,
    settle: async (outcome) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1
        throw new Error('ClickHouse unavailable')
      }
      settled.push({ job: { ...outcome.job }, outcome: outcome.outcome })
    },
  })
  return { box, clock, settled, settleCalls: () => settled.length + (settleFailures - failuresLeft) }
}

describe('backoffMs', () => {
  it('doubles from one second and caps at five minutes', () => {
    expect([0, 1, 2, 3, 4, 9].map(backoffMs)).toEqual([1000, 1000, 2000, 4000, 8000, 256_000])
    expect(backoffMs(10)).toBe(300_000)
    expect(backoffMs(40)).toBe(300_000)
  })
})

describe('createOutbox', () => {
  it('delivers on the first try, settles once as delivered and forgets the job', async () => {
    const { box, settled } = outbox()
    const webhook = receiver('webhook:https://hooks.example.com/cpi')
    const web = group('web')
    box.enqueue(web, [webhook], new Set())
    expect(box.size()).toBe(1)

    const outcomes = await box.deliverDue()
    expect(outcomes.map((o) => [o.job.receiver.name, o.outcome, o.job.attempts])).toEqual([
      ['webhook:https://hooks.example.com/cpi', 'delivered', 1],
    ])
    expect(webhook.calls).toEqual([{ key: idempotencyKey(web), group: web }])
    expect(settled.map((s) => s.outcome)).toEqual(['delivered'])
    expect(box.size()).toBe(0)
    expect(await box.deliverDue()).toEqual([])
    expect(webhook.calls).toHaveLength(1)
  })

  it('retries a failing receiver after 1 s, 2 s, 4 s and never before, then settles as failed', async () => {
    const { box, clock, settled } = outbox(4)
    const slack = receiver('slack:https://hooks.slack.example.com/x', false)
    box.enqueue(group('web'), [slack], new Set())

    const attemptsAt: number[] = []
    // Walk the clock in 500 ms steps for 10 s and record when an attempt happens.
    for (let elapsed = 0; elapsed <= 10_000; elapsed += 500) {
      clock.now = T + elapsed
      const before = slack.calls.length
      await box.deliverDue()
      if (slack.calls.length > before) attemptsAt.push(elapsed)
    }
    // Attempts at 0, then 1 s, 2 s and 4 s after each failure.
    expect(attemptsAt).toEqual([0, 1000, 3000, 7000])
    expect(settled).toHaveLength(1)
    expect(settled[0]?.outcome).toBe('failed')
    expect(settled[0]?.job.attempts).toBe(4)
    expect(settled[0]?.job.lastError).toBe('HTTP 503 from slack:https://hooks.slack.example.com/x')
    expect(box.size()).toBe(0)
  })

  it('delivers on a retry once the receiver recovers', async () => {
    const { box, clock, settled } = outbox(4)
    const webhook = receiver('webhook:https://hooks.example.com/cpi', [false, false, true])
    box.enqueue(group('web'), [webhook], new Set())
    expect(await box.deliverDue()).toEqual([])
    clock.now = T + 999
    expect(await box.deliverDue()).toEqual([])
    expect(webhook.calls).toHaveLength(1)
    clock.now = T + 1000
    expect(await box.deliverDue()).toEqual([])
    clock.now = T + 3000
    const outcomes = await box.deliverDue()
    expect(outcomes.map((o) => [o.outcome, o.job.attempts])).toEqual([['delivered', 3]])
    expect(settled.map((s) => s.outcome)).toEqual(['delivered'])
    // Every attempt carried the same idempotency key.
    expect(new Set(webhook.calls.map((call) => call.key)).size).toBe(1)
  })

  it('keeps one job per receiver: one failing receiver does not hold back another', async () => {
    const { box, settled } = outbox(4)
    const good = receiver('webhook:https://a.example.com')
    const bad = receiver('webhook:https://b.example.com', false)
    box.enqueue(group('web'), [good, bad], new Set())
    expect(box.size()).toBe(2)
    const outcomes = await box.deliverDue()
    expect(outcomes.map((o) => [o.job.receiver.name, o.outcome])).toEqual([
      ['webhook:https://a.example.com', 'delivered'],
    ])
    expect(settled).toHaveLength(1)
    expect(box.size()).toBe(1)
  })

  it('skips a (receiver, key) already settled or already queued', async () => {
    const { box } = outbox()
    const a = receiver('webhook:https://a.example.com')
    const b = receiver('webhook:https://b.example.com')
    const web = group('web')
    const key = idempotencyKey(web)
    box.enqueue(web, [a, b], new Set([`webhook:https://a.example.com\n${key}`]))
    expect(box.size()).toBe(1)
    // Queued already: enqueueing again (a restart's resend, a repeated evaluation) adds nothing.
    box.enqueue(web, [a, b], new Set([`webhook:https://a.example.com\n${key}`]))
    expect(box.size()).toBe(1)
    // Another group (another alert cycle) is another job for the same receiver.
    box.enqueue(group('web', 5), [b], new Set())
    expect(box.size()).toBe(2)
    await box.deliverDue()
    expect(a.calls).toEqual([])
    expect(b.calls.map((call) => call.key)).toEqual([key, idempotencyKey(group('web', 5))])
  })

  it('counts a delivery recorded under one of the receiver’s aliases (the URL-keyed names of older versions) as settled', async () => {
    const { box } = outbox()
    const web = group('web')
    const renamed: Receiver = {
      ...receiver('webhook-1'),
      aliases: ['webhook:https://a.example.com'],
    }
    box.enqueue(web, [renamed], new Set([`webhook:https://a.example.com\n${idempotencyKey(web)}`]))
    expect(box.size()).toBe(0)
    box.enqueue(web, [renamed], new Set([`webhook:https://other.example.com\n${idempotencyKey(web)}`]))
    expect(box.size()).toBe(1)
  })

  it('after a send whose record failed, retries only the record, never the send', async () => {
    const { box, clock, settled, settleCalls } = outbox(4, 2)
    const webhook = receiver('webhook:https://hooks.example.com/cpi')
    box.enqueue(group('web'), [webhook], new Set())

    expect(await box.deliverDue()).toEqual([])
    expect(webhook.calls).toHaveLength(1)
    expect(settleCalls()).toBe(1)
    expect(box.size()).toBe(1)

    // Not due again before the backoff.
    expect(await box.deliverDue()).toEqual([])
    expect(settleCalls()).toBe(1)

    clock.now = T + 1000
    expect(await box.deliverDue()).toEqual([])
    expect(settleCalls()).toBe(2)

    clock.now = T + 2000
    const outcomes = await box.deliverDue()
    expect(outcomes.map((o) => [o.outcome, o.job.attempts])).toEqual([['delivered', 1]])
    expect(settled.map((s) => s.outcome)).toEqual(['delivered'])
    expect(settleCalls()).toBe(3)
    expect(webhook.calls).toHaveLength(1)
    expect(box.size()).toBe(0)
  })

  it('after giving up whose record failed, records failed again without another send', async () => {
    const { box, clock, settled } = outbox(1, 1)
    const webhook = receiver('webhook:https://hooks.example.com/cpi', false)
    box.enqueue(group('web'), [webhook], new Set())
    expect(await box.deliverDue()).toEqual([])
    clock.now = T + 1000
    const outcomes = await box.deliverDue()
    expect(outcomes.map((o) => [o.outcome, o.job.attempts])).toEqual([['failed', 1]])
    expect(settled.map((s) => s.outcome)).toEqual(['failed'])
    expect(webhook.calls).toHaveLength(1)
  })
})
