import { type AlertRecord, groupTransitions, isSilenced, type Silence, type Transition } from '@cpi/alerting'
import {
  type ClickHouse,
  insertAlerts,
  listAlerts,
  listAlertTransitions,
  listSilences,
  queryLastOutcomeTimes,
  queryMinuteCounts,
  queryWatermarks,
  readCheckpoint,
  recordDelivery,
  type StoredAlert,
  settledDeliveries,
  writeCheckpoint,
} from '@cpi/clickhouse'
import type { Config } from '@cpi/config'
import { builtinCatalogFile, type CpiDefinition, loadCatalog } from '@cpi/cpi-core'
import { BatchingProducer, ensureTopics } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { counter, gauge, histogram } from '@cpi/runtime'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { createOutbox, kafkaReceiver, type Receiver, slackReceiver, webhookReceiver } from './delivery.ts'
import { type CountRow, evaluateSteps, rangesToRead, ruleSets, stepsBetween } from './evaluation.ts'

const CHECKPOINT = 'alerter'
/** At most a day of minute steps per evaluation (a longer gap is skipped with a warning). */
const MAX_STEPS = 1440

export interface Alerter {
  /** One evaluation and delivery round (the timer calls it; tests may too). */
  tick(): Promise<void>
  stop(): Promise<void>
  evaluatedThrough(): number | undefined
  pendingDeliveries(): number
  warnings: Record<string, string[]>
}

function toStored(transition: Transition, silencedBy: string[]): StoredAlert {
  const alert = transition.alert
  return {
    fingerprint: transition.fingerprint,
    seq: transition.seq,
    state: transition.to,
    previousState: transition.from,
    labels: { ...alert.labels },
    annotations: { ...alert.annotations },
    activeSince: alert.activeSince,
    firedAt: alert.firedAt,
    resolvedAt: alert.resolvedAt,
    value: alert.value,
    threshold: alert.threshold,
    evaluatedAt: transition.at,
    notify: transition.notify,
    silencedBy,
  }
}

function toRecord(stored: StoredAlert): AlertRecord {
  return {
    fingerprint: stored.fingerprint,
    labels: stored.labels as AlertRecord['labels'],
    annotations: stored.annotations as AlertRecord['annotations'],
    // A pending cycle that ended without firing is kept as resolved, so its seq never repeats.
    state: stored.state === 'inactive' ? 'resolved' : stored.state,
    activeSince: stored.activeSince,
    firedAt: stored.firedAt,
    resolvedAt: stored.resolvedAt,
    value: stored.value,
    threshold: stored.threshold,
    updatedAt: stored.evaluatedAt,
    seq: stored.seq,
  }
}

function toTransition(stored: StoredAlert): Transition {
  return {
    fingerprint: stored.fingerprint,
    from: stored.previousState,
    to: stored.state,
    at: stored.evaluatedAt,
    seq: stored.seq,
    alert: toRecord(stored),
    notify: stored.notify,
  }
}

/**
 * The alerter: every `intervalMs` it walks the minute steps of event time the watermark passed,
 * evaluates each CPI's rules, records transitions in `alerts` (before anything is sent), then
 * notifies webhooks, Slack and the alerts topic. Notifications of one step are grouped by CPI
 * and severity; silenced alerts are recorded but not notified.
 */
export async function startAlerter(options: {
  config: Config
  clickhouse: ClickHouse
  kafka: Kafka
  registry: Registry
  logger: Logger
  catalog?: readonly CpiDefinition[]
  now?: () => number
}): Promise<Alerter> {
  const { config, clickhouse, kafka, registry } = options
  const logger = options.logger.child({ component: 'alerter' })
  const now = options.now ?? Date.now
  const settings = config.alerter
  const policy = settings.policy
  const catalog =
    options.catalog ?? (await loadCatalog([builtinCatalogFile, ...config.processor.catalogFiles]))
  const rules = ruleSets(catalog, policy)
  const warnings: Record<string, string[]> = {}
  for (const set of rules) {
    if (set.warnings.length === 0) continue
    warnings[set.cpi.name] = set.warnings
    for (const warning of set.warnings) logger.warn({ cpi: set.cpi.name }, `alert rule: ${warning}`)
  }
  const links = {
    dashboardUrl: config.api.publicUrl,
    runbookUrl: settings.runbookUrl ?? `${config.api.publicUrl}/runbook`,
  }

  const metrics = {
    transitions: counter(registry, {
      name: 'cpi_alert_transitions_total',
      help: 'Alert transitions recorded, by new state and severity.',
      labelNames: ['state', 'severity'] as const,
    }),
    notifications: counter(registry, {
      name: 'cpi_alert_notifications_total',
      help: 'Alert notifications settled, by receiver kind and outcome (delivered, failed).',
      labelNames: ['receiver', 'outcome'] as const,
    }),
    firing: gauge(registry, {
      name: 'cpi_alerts_firing',
      help: 'Alerts firing now, by severity.',
      labelNames: ['severity'] as const,
    }),
    evaluatedThrough: gauge(registry, {
      name: 'cpi_alerter_evaluated_through_seconds',
      help: 'Event time (Unix seconds) the alerter has evaluated up to.',
    }),
    duration: histogram(registry, {
      name: 'cpi_alerter_evaluation_seconds',
      help: 'Wall time of one evaluation round.',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
  }

  const producer = new BatchingProducer(kafka, { logger })
  // The topic is made on first use, not at start: the alerter starts (and evaluates, and records)
  // while Kafka is unreachable; the topic's notifications wait in the outbox meanwhile.
  let topicReady: Promise<void> | undefined
  const ensureAlertsTopic = () => {
    topicReady ??= ensureTopics(kafka, [{ topic: settings.topic, numPartitions: 1 }]).catch((error) => {
      topicReady = undefined
      throw error
    })
    return topicReady
  }
  const receivers: Receiver[] = [
    ...settings.webhooks.map((url) =>
      webhookReceiver(url, { dashboardUrl: links.dashboardUrl, timeoutMs: settings.webhookTimeoutMs }),
    ),
    ...settings.slackWebhooks.map((url) => slackReceiver(url, { timeoutMs: settings.webhookTimeoutMs })),
    kafkaReceiver(
      settings.topic,
      async (message) => {
        await ensureAlertsTopic()
        await producer.send(settings.topic, [
          { key: message.key, value: message.value, headers: message.headers },
        ])
      },
      { dashboardUrl: links.dashboardUrl },
    ),
  ]
  const outbox = createOutbox({
    maxAttempts: settings.deliveryAttempts,
    logger,
    now,
    settle: async ({ job, outcome }) => {
      await recordDelivery(clickhouse, {
        idempotencyKey: job.key,
        receiver: job.receiver.name,
        outcome,
        attempts: job.attempts,
        lastError: job.lastError,
        fingerprints: job.group.transitions.map((transition) => transition.fingerprint),
      })
      metrics.notifications.inc({ receiver: job.receiver.name.split(':')[0], outcome })
    },
  })

  // State after a restart: each fingerprint's latest record, how far evaluation got, and every
  // notification recorded as owed but not settled.
  const alerts = new Map<string, AlertRecord>()
  for (const stored of await listAlerts(clickhouse)) alerts.set(stored.fingerprint, toRecord(stored))
  let through = await readCheckpoint(clickhouse, CHECKPOINT)
  const latestRecorded = Math.max(
    Number.NEGATIVE_INFINITY,
    ...[...alerts.values()].map((alert) => alert.updatedAt),
  )
  if (through !== undefined && latestRecorded > through) through = latestRecorded
  {
    const settled = await settledDeliveries(clickhouse)
    const owed = (await listAlertTransitions(clickhouse)).filter(
      (stored) => stored.notify && stored.silencedBy.length === 0,
    )
    for (const group of groupByStep(owed.map(toTransition))) outbox.enqueue(group, receivers, settled)
    if (outbox.size() > 0)
      logger.info({ notifications: outbox.size() }, 'resending notifications owed before the restart')
  }

  async function evaluate(): Promise<void> {
    const partitions = (await queryWatermarks(clickhouse)).filter((p) => p.topic === config.topics.events)
    if (partitions.length === 0) return
    // The slowest partition bounds what is complete.
    const watermark = Math.min(...partitions.map((p) => p.watermark))
    if (through === undefined) through = Math.floor((watermark - settings.lookbackMs) / 60_000) * 60_000
    const steps = stepsBetween(through, watermark, MAX_STEPS)
    if (steps.length === 0) return
    const firstStep = steps[0] as number
    const lastStep = steps[steps.length - 1] as number
    if (firstStep > through + 60_000)
      logger.warn(
        { from: new Date(through).toISOString(), to: new Date(firstStep).toISOString() },
        'skipping an evaluation gap longer than a day',
      )

    const transitions: Transition[] = []
    for (const set of rules) {
      const rows: CountRow[] = []
      for (const range of rangesToRead(set, policy, firstStep, lastStep))
        rows.push(...(await queryMinuteCounts(clickhouse, { cpi: set.cpi.name, ...range })))
      const lookbackStart = firstStep - set.lookbackMs
      const last = (await queryLastOutcomeTimes(clickhouse, lookbackStart)).get(set.cpi.name)
      const result = evaluateSteps({
        rules: set,
        rows,
        steps,
        alerts: filterCpi(alerts, set.cpi.name),
        policy,
        links,
        lastDataBefore: last ?? null,
      })
      for (const [key, record] of result.alerts) alerts.set(key, record)
      // A pending cycle that ended is forgotten by the lifecycle; keep it so its seq goes on.
      for (const transition of result.transitions)
        if (transition.to === 'inactive') alerts.set(transition.fingerprint, transition.alert)
      transitions.push(...result.transitions)
    }

    const at = now()
    const silences: Silence[] = await listSilences(clickhouse, at)
    const stored = transitions.map((transition) =>
      toStored(transition, transition.notify ? isSilenced(transition.alert.labels, silences, at) : []),
    )
    // Recorded before anything is sent: the table is the outbox.
    await insertAlerts(clickhouse, stored)
    await writeCheckpoint(clickhouse, CHECKPOINT, lastStep)
    through = lastStep
    metrics.evaluatedThrough.set(lastStep / 1000)
    for (const transition of stored) {
      metrics.transitions.inc({ state: transition.state, severity: transition.labels.severity ?? '' })
      if (transition.notify)
        logger.info(
          {
            fingerprint: transition.fingerprint,
            state: transition.state,
            silencedBy: transition.silencedBy,
            ...transition.labels,
          },
          transition.annotations.summary ?? 'alert transition',
        )
    }
    const notifying = stored.filter((transition) => transition.notify && transition.silencedBy.length === 0)
    const settled = new Set<string>()
    for (const group of groupByStep(notifying.map(toTransition))) outbox.enqueue(group, receivers, settled)
    for (const severity of ['page', 'ticket'])
      metrics.firing.set(
        { severity },
        [...alerts.values()].filter((alert) => alert.state === 'firing' && alert.labels.severity === severity)
          .length,
      )
  }

  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let stopped = false

  async function tick(): Promise<void> {
    if (running) return running
    running = (async () => {
      const end = metrics.duration.startTimer()
      try {
        await evaluate()
      } catch (error) {
        logger.warn({ err: error }, 'alert evaluation failed; retrying at the next tick')
      } finally {
        end()
      }
      await outbox.deliverDue()
    })().finally(() => {
      running = undefined
    })
    return running
  }

  const schedule = () => {
    if (stopped) return
    timer = setTimeout(() => {
      void tick().finally(schedule)
    }, settings.intervalMs)
  }
  schedule()
  logger.info(
    {
      cpis: rules.length,
      receivers: receivers.map((receiver) => receiver.name.replace(/\/\/.*$/, '//…')),
      through,
    },
    'alerter started',
  )

  return {
    tick,
    warnings,
    evaluatedThrough: () => through,
    pendingDeliveries: () => outbox.size(),
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
      await producer.disconnect()
    },
  }
}

function filterCpi(alerts: ReadonlyMap<string, AlertRecord>, cpi: string): Map<string, AlertRecord> {
  return new Map([...alerts].filter(([, alert]) => alert.labels.cpi === cpi))
}

/** Groups by evaluation step first, so the same transitions always make the same groups and keys. */
function groupByStep(transitions: readonly Transition[]) {
  const steps = new Map<number, Transition[]>()
  for (const transition of transitions)
    steps.set(transition.at, [...(steps.get(transition.at) ?? []), transition])
  return [...steps.keys()].sort((a, b) => a - b).flatMap((at) => groupTransitions(steps.get(at) ?? []))
}
