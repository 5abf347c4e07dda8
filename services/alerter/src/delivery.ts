import { idempotencyKey, type NotificationGroup, slackPayload, webhookPayload } from '@cpi/alerting'
import type { Logger } from '@cpi/logger'

// Notifications out of the alerter: one job per (notification group, receiver), retried with
// exponential backoff until the receiver acknowledges or the attempts run out. Every outcome is
// recorded by the caller, so a restart resends exactly the jobs without a record.

export interface Receiver {
  /** The configured name (`webhook-1`, `oncall`, `kafka`): deliveries are recorded by it, never by URL. */
  name: string
  /** `webhook`, `slack`, `kafka`: the metrics' label. */
  kind?: string
  /** Names older versions recorded its deliveries under (`webhook:<url>`): settled under those counts too. */
  aliases?: readonly string[]
  send(group: NotificationGroup, key: string): Promise<void>
}

/** A configured URL receiver: its name and where it posts. */
export interface ReceiverTarget {
  name: string
  url: string
}

export function webhookReceiver(
  target: ReceiverTarget,
  options: { dashboardUrl: string; timeoutMs: number },
): Receiver {
  return {
    name: target.name,
    kind: 'webhook',
    aliases: [`webhook:${target.url}`],
    send: (group, key) =>
      post(target.url, webhookPayload(group, { dashboardUrl: options.dashboardUrl }), key, options.timeoutMs),
  }
}

export function slackReceiver(target: ReceiverTarget, options: { timeoutMs: number }): Receiver {
  return {
    name: target.name,
    kind: 'slack',
    aliases: [`slack:${target.url}`],
    send: (group, key) => post(target.url, slackPayload(group), key, options.timeoutMs),
  }
}

export function kafkaReceiver(
  topic: string,
  publish: (message: { key: string; value: string; headers: Record<string, string> }) => Promise<void>,
  options: { dashboardUrl: string },
): Receiver {
  return {
    name: 'kafka',
    kind: 'kafka',
    aliases: [`kafka:${topic}`],
    send: (group, key) =>
      publish({
        key: group.groupKey,
        value: JSON.stringify(webhookPayload(group, { dashboardUrl: options.dashboardUrl })),
        headers: { 'idempotency-key': key, status: group.status },
      }),
  }
}

async function post(url: string, body: unknown, key: string, timeoutMs: number): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key, 'user-agent': 'cpi-alerter/1' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  })
  // Drain the body so the connection can be reused.
  await response.arrayBuffer().catch(() => undefined)
  if (!response.ok) throw new Error(`HTTP ${response.status} from the receiver`)
}

export interface DeliveryJob {
  key: string
  receiver: Receiver
  group: NotificationGroup
  attempts: number
  nextAt: number
  lastError: string
  /** Sent (or given up on) but not yet recorded: only the record is retried, never the send. */
  unrecorded?: 'delivered' | 'failed'
}

export interface DeliveryOutcome {
  job: DeliveryJob
  outcome: 'delivered' | 'failed'
}

/** Backoff before attempt n+1: 1 s, 2 s, 4 s … capped at 5 minutes. */
export const backoffMs = (attempts: number) => Math.min(1000 * 2 ** Math.max(0, attempts - 1), 300_000)

export function createOutbox(options: {
  maxAttempts: number
  logger: Logger
  /** Records a settled job; the job leaves the outbox only once this resolved. */
  settle: (outcome: DeliveryOutcome) => Promise<void>
  now?: () => number
}) {
  const now = options.now ?? Date.now
  const jobs = new Map<string, DeliveryJob>()

  return {
    size: () => jobs.size,
    /** Queues a group for each receiver, unless that (receiver, key) is settled or queued already. */
    enqueue(group: NotificationGroup, receivers: readonly Receiver[], settled: ReadonlySet<string>) {
      const key = idempotencyKey(group)
      for (const receiver of receivers) {
        const id = `${receiver.name}\n${key}`
        const names = [receiver.name, ...(receiver.aliases ?? [])]
        if (names.some((name) => settled.has(`${name}\n${key}`)) || jobs.has(id)) continue
        jobs.set(id, { key, receiver, group, attempts: 0, nextAt: now(), lastError: '' })
      }
    },
    /** Attempts every due job once, concurrently; returns how each settled job ended. */
    async deliverDue(): Promise<DeliveryOutcome[]> {
      const due = [...jobs].filter(([, job]) => job.nextAt <= now())
      const outcomes: DeliveryOutcome[] = []
      await Promise.all(
        due.map(async ([id, job]) => {
          let outcome: DeliveryOutcome['outcome'] | undefined = job.unrecorded
          if (outcome === undefined) job.attempts += 1
          try {
            if (outcome === undefined) {
              await job.receiver.send(job.group, job.key)
              outcome = 'delivered'
            }
          } catch (error) {
            job.lastError = error instanceof Error ? error.message : String(error)
            if (job.attempts >= options.maxAttempts) {
              outcome = 'failed'
              options.logger.error(
                { receiver: job.receiver.name, key: job.key, attempts: job.attempts, err: job.lastError },
                'alert notification failed; giving up (recorded in alert_deliveries)',
              )
            } else {
              job.nextAt = now() + backoffMs(job.attempts)
              options.logger.warn(
                { receiver: job.receiver.name, key: job.key, attempts: job.attempts, err: job.lastError },
                'alert notification failed; will retry',
              )
            }
          }
          if (outcome === undefined) return
          try {
            await options.settle({ job, outcome })
            jobs.delete(id)
            outcomes.push({ job, outcome })
          } catch (error) {
            job.unrecorded = outcome
            job.nextAt = now() + backoffMs(1)
            options.logger.warn(
              { err: error, key: job.key },
              'recording a delivery failed; will retry recording',
            )
          }
        }),
      )
      return outcomes
    },
  }
}

export type Outbox = ReturnType<typeof createOutbox>
