import { createHash } from 'node:crypto'
import { isoOrNull } from './format.ts'
import type { Labels } from './labels.ts'
import type { Transition } from './lifecycle.ts'

export type NotificationStatus = 'firing' | 'resolved'

/** Notifying transitions that go out together: same status, same values of the groupBy labels. */
export interface NotificationGroup {
  /** `{cpi="fast_quote",severity="page"}`: the groupBy labels (status is separate, as in Alertmanager). */
  groupKey: string
  /** The labels every alert of the group has with the same value. */
  commonLabels: Record<string, string>
  status: NotificationStatus
  transitions: Transition[]
}

/**
 * Groups the transitions that notify (→ firing, firing → resolved) by status and the `groupBy`
 * labels. Groups come sorted by key, firing before resolved; alerts sorted by fingerprint, seq.
 */
export function groupTransitions(
  transitions: readonly Transition[],
  groupBy: readonly string[] = ['cpi', 'severity'],
): NotificationGroup[] {
  const groups = new Map<string, NotificationGroup>()
  for (const transition of transitions) {
    if (!transition.notify) continue
    const status: NotificationStatus | undefined =
      transition.to === 'firing' ? 'firing' : transition.to === 'resolved' ? 'resolved' : undefined
    if (status === undefined) continue
    const labels: Labels = transition.alert.labels
    const groupKey = `{${groupBy.map((name) => `${name}=${JSON.stringify(labels[name] ?? '')}`).join(',')}}`
    const key = `${status === 'firing' ? 0 : 1}${groupKey}`
    const group = groups.get(key) ?? { groupKey, commonLabels: {}, status, transitions: [] }
    group.transitions.push(transition)
    groups.set(key, group)
  }
  return [...groups.values()]
    .sort(
      (a, b) =>
        compare(a.groupKey, b.groupKey) || (a.status === b.status ? 0 : a.status === 'firing' ? -1 : 1),
    )
    .map((group) => {
      const sorted = [...group.transitions].sort(
        (a, b) => compare(a.fingerprint, b.fingerprint) || a.seq - b.seq,
      )
      return { ...group, commonLabels: commonLabels(sorted.map((t) => t.alert.labels)), transitions: sorted }
    })
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function commonLabels(labelSets: readonly Labels[]): Record<string, string> {
  const [first, ...rest] = labelSets
  const common: Record<string, string> = {}
  if (first === undefined) return common
  for (const name of Object.keys(first).sort()) {
    const value = first[name] as string
    if (rest.every((labels) => labels[name] === value)) common[name] = value
  }
  return common
}

/** Stable across retries and restarts: derived from the group's (fingerprint, seq) pairs only. */
export function idempotencyKey(group: Pick<NotificationGroup, 'transitions'>): string {
  const pairs = group.transitions.map((transition) => `${transition.fingerprint}:${transition.seq}`).sort()
  return createHash('sha256').update(pairs.join(',')).digest('hex').slice(0, 32)
}

export interface WebhookAlert {
  fingerprint: string
  status: NotificationStatus
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string | null
  /** null when not finite (no data for longer than the lookback). */
  value: number | null
  threshold: number
}

export interface WebhookPayload {
  version: '1'
  groupKey: string
  status: NotificationStatus
  commonLabels: Record<string, string>
  idempotencyKey: string
  externalURL: string
  alerts: WebhookAlert[]
}

/** A generic JSON webhook body, shaped like Alertmanager's (version 4 there, '1' here). */
export function webhookPayload(group: NotificationGroup, options: { dashboardUrl: string }): WebhookPayload {
  return {
    version: '1',
    groupKey: group.groupKey,
    status: group.status,
    commonLabels: group.commonLabels,
    idempotencyKey: idempotencyKey(group),
    externalURL: options.dashboardUrl,
    alerts: group.transitions.map(({ alert }) => ({
      fingerprint: alert.fingerprint,
      status: group.status,
      labels: { ...alert.labels },
      annotations: { ...alert.annotations },
      startsAt: new Date(alert.firedAt ?? alert.activeSince).toISOString(),
      endsAt: isoOrNull(alert.resolvedAt),
      value: Number.isFinite(alert.value) ? alert.value : null,
      threshold: alert.threshold,
    })),
  }
}

export interface SlackPayload {
  text: string
  blocks: SlackBlock[]
}

export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: boolean } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] }

// Slack allows 50 blocks per message, 150 characters per header and 3000 per section text
// (a summary of 1500 leaves room for its escaping and the two links).
const MAX_ALERT_SECTIONS = 45
const MAX_HEADER = 150
const MAX_SUMMARY = 1500

/** The three characters Slack mrkdwn needs escaped, in text and in link URLs alike. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** A Slack incoming-webhook body: a header line and one section per alert with its links. */
export function slackPayload(group: NotificationGroup): SlackPayload {
  // Sorted: 'page' comes before 'ticket', the most urgent first.
  const distinct = (values: string[]) => [...new Set(values)].sort(compare)
  const names = distinct(
    group.transitions.map(({ alert }) => alert.annotations.cpiDisplayName || alert.labels.cpi),
  )
  const severities = distinct(group.transitions.map(({ alert }) => alert.labels.severity))
  const header = truncate(
    `[${group.status.toUpperCase()}:${group.transitions.length}] ${severities.join('/')} — ${names.join(', ')}`,
    MAX_HEADER,
  )
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: header, emoji: true } }]
  for (const { alert } of group.transitions.slice(0, MAX_ALERT_SECTIONS)) {
    const links = [
      alert.annotations.dashboard && `<${escapeSlack(alert.annotations.dashboard)}|Dashboard>`,
      alert.annotations.runbook && `<${escapeSlack(alert.annotations.runbook)}|Runbook>`,
    ].filter(Boolean)
    // Truncate the summary, not the text, so that no link is cut in half.
    const summary = escapeSlack(truncate(alert.annotations.summary, MAX_SUMMARY))
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*${summary}*\n${links.join(' · ')}` } })
  }
  const hidden = group.transitions.length - MAX_ALERT_SECTIONS
  if (hidden > 0)
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${hidden} more` }] })
  return { text: header, blocks }
}
