import { describe, expect, it } from 'vitest'
import { burnTiers } from './burn-tiers.ts'
import { type AlertLabels, defaultAlertPolicy, evaluate } from './conditions.ts'
import { fingerprint } from './labels.ts'
import { type AlertRecord, advance, type Transition } from './lifecycle.ts'
import { allSegment, MinuteSeries, type Segment } from './minute-series.ts'
import { groupTransitions, idempotencyKey, slackPayload, webhookPayload } from './notifications.ts'

const MIN = 60_000
const T = Date.parse('2026-11-22T10:00:00Z')

function labels(overrides: Partial<AlertLabels>): AlertLabels {
  return {
    alertname: 'CpiBurnRate',
    cpi: 'fast_quote',
    dimension: 'channel',
    segment: 'web',
    severity: 'page',
    rule: 'burn_rate',
    ...overrides,
  }
}

/** A transition made by hand: enough for grouping, which only reads labels, status and seq. */
function transition(
  overrides: Partial<AlertLabels>,
  to: Transition['to'],
  seq: number,
  notify = to === 'firing' || to === 'resolved',
): Transition {
  const alertLabels = labels(overrides)
  const key = fingerprint(alertLabels)
  const alert: AlertRecord = {
    fingerprint: key,
    labels: alertLabels,
    annotations: {
      summary: `${alertLabels.cpi} ${alertLabels.segment}`,
      description: '',
      runbook: '',
      dashboard: '',
      cpiDisplayName: alertLabels.cpi === 'fast_quote' ? 'Fast quote' : 'Nothing broke',
    },
    state: to === 'inactive' ? 'resolved' : to,
    activeSince: T,
    firedAt: to === 'pending' ? null : T + 2 * MIN,
    resolvedAt: to === 'resolved' ? T + 9 * MIN : null,
    value: 8,
    threshold: 6,
    updatedAt: T,
    seq,
  }
  return { fingerprint: key, from: 'inactive', to, at: T, seq, alert, notify }
}

describe('groupTransitions', () => {
  const transitions = [
    transition({ segment: 'web' }, 'firing', 2),
    transition({ segment: 'phone' }, 'firing', 2),
    transition({ segment: 'app' }, 'resolved', 3),
    transition({ segment: 'store' }, 'pending', 1),
    transition({ segment: 'kiosk' }, 'inactive', 2),
    // A firing transition the caller decided not to notify (notify is what counts).
    transition({ segment: 'mail' }, 'firing', 2, false),
    transition({ cpi: 'nothing_broke', segment: 'web', severity: 'ticket' }, 'firing', 2),
  ]

  it('groups notifying transitions by cpi and severity, firing and resolved apart', () => {
    const groups = groupTransitions(transitions)
    expect(
      groups.map((group) => [
        group.groupKey,
        group.status,
        group.transitions.map((t) => t.alert.labels.segment),
      ]),
    ).toEqual([
      ['{cpi="fast_quote",severity="page"}', 'firing', expect.arrayContaining(['web', 'phone'])],
      ['{cpi="fast_quote",severity="page"}', 'resolved', ['app']],
      ['{cpi="nothing_broke",severity="ticket"}', 'firing', ['web']],
    ])
    // Pending and dropped alerts never notify.
    expect(groups.flatMap((group) => group.transitions).some((t) => !t.notify)).toBe(false)
  })

  it('keeps the labels the alerts of a group share as commonLabels', () => {
    const [firing] = groupTransitions(transitions)
    expect(firing?.commonLabels).toEqual({
      alertname: 'CpiBurnRate',
      cpi: 'fast_quote',
      dimension: 'channel',
      rule: 'burn_rate',
      severity: 'page',
    })
  })

  it('groups by the labels asked for, and orders alerts by fingerprint whatever the input order', () => {
    const groups = groupTransitions(transitions, ['alertname'])
    expect(groups.map((group) => [group.groupKey, group.status, group.transitions.length])).toEqual([
      ['{alertname="CpiBurnRate"}', 'firing', 3],
      ['{alertname="CpiBurnRate"}', 'resolved', 1],
    ])
    expect(groupTransitions([...transitions].reverse(), ['alertname'])).toEqual(groups)
    const keys = groups[0]?.transitions.map((t) => t.fingerprint) ?? []
    expect(keys).toEqual([...keys].sort())
  })
})

describe('idempotencyKey', () => {
  const a = transition({ segment: 'web' }, 'firing', 2)
  const b = transition({ segment: 'phone' }, 'firing', 2)

  it('depends on the (fingerprint, seq) pairs only, not their order', () => {
    expect(idempotencyKey({ transitions: [a, b] })).toBe(idempotencyKey({ transitions: [b, a] }))
    expect(idempotencyKey({ transitions: [a, b] })).toMatch(/^[0-9a-f]{32}$/)
    const refreshed = { ...a, alert: { ...a.alert, value: 99 } }
    expect(idempotencyKey({ transitions: [refreshed, b] })).toBe(idempotencyKey({ transitions: [a, b] }))
  })

  it('differs for another cycle of the same alert (another seq) or another set of alerts', () => {
    const nextCycle = transition({ segment: 'web' }, 'firing', 5)
    expect(idempotencyKey({ transitions: [nextCycle, b] })).not.toBe(idempotencyKey({ transitions: [a, b] }))
    expect(idempotencyKey({ transitions: [a] })).not.toBe(idempotencyKey({ transitions: [a, b] }))
  })
})

describe('payloads', () => {
  // Two segments of fast_quote burning 8.2× and 7× at target 90 % (1-day window), firing at once.
  const cpi = {
    name: 'fast_quote',
    displayName: 'Fast quote',
    target: 0.9,
    tiers: burnTiers({ target: 0.9, window: 86_400_000 }, 'page').tiers,
    alerting: 'page' as const,
  }
  const links = { dashboardUrl: 'https://cpi.example.com', runbookUrl: 'https://runbooks.example.com/cpi' }
  const series = (bad: number, total: number) =>
    new MinuteSeries(
      Array.from({ length: 12 }, (_, minute) => ({
        minute: T - (12 - minute) * MIN,
        good: total - bad,
        total,
      })),
    )
  const policy = { ...defaultAlertPolicy, pendingForMs: 0 }
  const conditions = [
    ...evaluate({
      cpi,
      segment: { dimension: 'channel', value: 'web' },
      series: series(41, 50),
      at: T,
      policy,
      links,
    }),
    ...evaluate({
      cpi,
      segment: { dimension: 'channel', value: 'phone' },
      series: series(21, 30),
      at: T,
      policy,
      links,
    }),
  ]
  const fired = advance(new Map(), conditions, T, policy)
  const [firing] = groupTransitions(fired.transitions)
  if (firing === undefined) throw new Error('expected a firing group')
  const segmentOf = (segment: Segment) => fingerprint(labels({ segment: segment.value }))

  it('build the generic webhook body', () => {
    expect(webhookPayload(firing, { dashboardUrl: links.dashboardUrl })).toEqual({
      version: '1',
      groupKey: '{cpi="fast_quote",severity="page"}',
      status: 'firing',
      commonLabels: {
        alertname: 'CpiBurnRate',
        cpi: 'fast_quote',
        dimension: 'channel',
        rule: 'burn_rate',
        severity: 'page',
      },
      idempotencyKey: idempotencyKey(firing),
      externalURL: 'https://cpi.example.com',
      alerts: [
        ['phone', segmentOf({ dimension: 'channel', value: 'phone' }), 7, '252 of 360', '21 of 30', '70%'],
        ['web', segmentOf({ dimension: 'channel', value: 'web' }), 8.2, '492 of 600', '41 of 50', '82%'],
      ]
        .sort((x, y) => String(x[1]).localeCompare(String(y[1])))
        .map(([segment, key, burn, long, short, rate]) => ({
          fingerprint: key,
          status: 'firing',
          labels: labels({ segment: String(segment) }),
          annotations: {
            summary: `Fast quote (channel=${segment}) burns its error budget ${burn}× (page threshold 6×) over 12 min and 1 min`,
            description:
              `${long} outcomes missed over the last 12 min (${rate}); ${short} outcomes missed over the last 1 min (${rate}). ` +
              'The 6× tier fires at an error rate of 60% in both windows (objective 90%) and has then burnt 5% of the error budget.',
            runbook: 'https://runbooks.example.com/cpi#cpiburnrate',
            dashboard: `https://cpi.example.com/?cpi=fast_quote&by=channel&segment=${segment}`,
            cpiDisplayName: 'Fast quote',
          },
          startsAt: '2026-11-22T10:00:00.000Z',
          endsAt: null,
          value: expect.closeTo(Number(burn), 9),
          threshold: 6,
        })),
    })
    // Plain JSON: survives a round trip unchanged.
    const payload = webhookPayload(firing, { dashboardUrl: links.dashboardUrl })
    expect(JSON.parse(JSON.stringify(payload))).toEqual(payload)
  })

  it('give a resolved alert its end time, and a value that is not finite as null', () => {
    const resolved = transition({ segment: 'web' }, 'resolved', 3)
    resolved.alert.value = Number.POSITIVE_INFINITY
    const [group] = groupTransitions([resolved])
    if (group === undefined) throw new Error('expected a group')
    const [alert] = webhookPayload(group, { dashboardUrl: '' }).alerts
    expect(alert).toMatchObject({
      status: 'resolved',
      startsAt: '2026-11-22T10:02:00.000Z',
      endsAt: '2026-11-22T10:09:00.000Z',
      value: null,
    })
  })

  it('build a Slack message: a header line, then one section per alert with mrkdwn links', () => {
    const slack = slackPayload(firing)
    expect(slack.text).toBe('[FIRING:2] page — Fast quote')
    expect(slack.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '[FIRING:2] page — Fast quote', emoji: true },
    })
    expect(
      slack.blocks.slice(1).map((block) => (block.type === 'section' ? block.text.text : block.type)),
    ).toEqual(
      firing.transitions.map(
        ({ alert }) =>
          `*${alert.annotations.summary}*\n` +
          `<https://cpi.example.com/?cpi=fast_quote&amp;by=channel&amp;segment=${alert.labels.segment}|Dashboard> · ` +
          '<https://runbooks.example.com/cpi#cpiburnrate|Runbook>',
      ),
    )
  })

  it('escape Slack control characters and cap the message at Slack block limits', () => {
    const many = Array.from({ length: 50 }, (_, index) => {
      const made = transition({ segment: `s${index}` }, 'resolved', 3)
      made.alert.annotations = { ...made.alert.annotations, summary: 'a <b> & c' }
      return made
    })
    const [group] = groupTransitions(many)
    if (group === undefined) throw new Error('expected a group')
    const slack = slackPayload(group)
    expect(slack.text).toBe('[RESOLVED:50] page — Fast quote')
    expect(slack.blocks).toHaveLength(1 + 45 + 1)
    expect(slack.blocks[1]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: '*a &lt;b&gt; &amp; c*\n' },
    })
    expect(slack.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '…and 5 more' }],
    })
  })

  it('name every CPI and severity of a group that spans several', () => {
    const mixed = [
      transition({ segment: 'web' }, 'firing', 2),
      transition({ cpi: 'nothing_broke', severity: 'ticket' }, 'firing', 2),
    ]
    const [group] = groupTransitions(mixed, ['alertname'])
    if (group === undefined) throw new Error('expected a group')
    expect(slackPayload(group).text).toBe('[FIRING:2] page/ticket — Fast quote, Nothing broke')
  })

  it('come from the all segment too (no segment in the summary)', () => {
    const whole = evaluate({ cpi, segment: allSegment, series: series(41, 50), at: T, policy, links })
    const [group] = groupTransitions(advance(new Map(), whole, T, policy).transitions)
    expect(group && slackPayload(group).blocks[1]).toMatchObject({
      text: {
        text: expect.stringMatching(/^\*Fast quote burns its error budget 8\.2× \(page threshold 6×\)/),
      },
    })
  })
})
