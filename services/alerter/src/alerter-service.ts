import { progressFromAlerts } from '@cpi/alerting'
import {
  type ClickHouse,
  insertAlerts,
  listAlerts,
  listAlertTransitions,
  listSilences,
  queryBreaching,
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
import { builtinCatalogFile, type CpiDefinition, loadCatalog, revisionHorizonMs } from '@cpi/cpi-core'
import { BatchingProducer, ensureTopics } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { counter, gauge, histogram, type ReadinessCheck } from '@cpi/runtime'
import type { Kafka } from 'kafkajs'
import type { Registry } from 'prom-client'
import { evaluateRound } from './alerter-round.ts'
import { createOutbox, kafkaReceiver, type Receiver, slackReceiver, webhookReceiver } from './delivery.ts'
import { ruleSets } from './evaluation.ts'
import { firedSilenced, owedGroups, toRecord } from './records.ts'
import { type Context, isBreach, isStall, type State } from './round-state.ts'

const CHECKPOINT = 'alerter'

/** A partition of the events topic whose stall alert fires. */
export interface StalledPartition {
  topic: string
  partition: number
  /** The watermark it stands at, and since when (wall clock). */
  watermark: number
  since: number
}

export interface Alerter {
  /** One evaluation and delivery round (the timer calls it; tests may too). */
  tick(): Promise<void>
  stop(): Promise<void>
  evaluatedThrough(): number | undefined
  pendingDeliveries(): number
  /** The watermark the last round evaluated on: the lowest over the events topic's partitions. */
  watermark(): number | undefined
  /** Partitions whose stall alert fires now. */
  stalledPartitions(): StalledPartition[]
  warnings: Record<string, string[]>
}

/** The configuration the alerter reads: its own slice, the catalog files, the public URL, the topics. */
export type AlerterConfig = Pick<Config, 'alerter' | 'processor' | 'api' | 'topics'>

/** The alerter's metrics: transitions, notifications, alerts firing, how far it evaluated, round time. */
function alerterMetrics(registry: Registry) {
  return {
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
}

/** Every configured receiver, by name, and the producer of the alerts topic. */
function createReceivers(config: AlerterConfig, kafka: Kafka, logger: Logger) {
  const settings = config.alerter
  const dashboardUrl = config.api.publicUrl
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
    ...settings.webhooks.map((target) =>
      webhookReceiver(target, { dashboardUrl, timeoutMs: settings.webhookTimeoutMs }),
    ),
    ...settings.slackWebhooks.map((target) =>
      slackReceiver(target, { timeoutMs: settings.webhookTimeoutMs }),
    ),
    kafkaReceiver(
      settings.topic,
      async (message) => {
        await ensureAlertsTopic()
        await producer.send(settings.topic, [
          { key: message.key, value: message.value, headers: message.headers },
        ])
      },
      { dashboardUrl },
    ),
  ]
  return { receivers, producer }
}

/**
 * State after a restart: each fingerprint's latest record, how far evaluation got, where stalled
 * partitions stopped, which firings wait for a silence to end, and every notification recorded
 * as owed to a receiver without a delivery record.
 */
async function restore(
  clickhouse: ClickHouse,
  enqueueOwed: (rows: readonly StoredAlert[], settled: ReadonlySet<string>) => void,
): Promise<State> {
  const latest = await listAlerts(clickhouse)
  const alerts = new Map(latest.map((stored) => [stored.fingerprint, toRecord(stored)]))
  let through = await readCheckpoint(clickhouse, CHECKPOINT)
  // Stall and breach alerts are stamped with the wall clock, not event time: they say nothing of the checkpoint.
  const latestRecorded = Math.max(
    Number.NEGATIVE_INFINITY,
    ...[...alerts.values()]
      .filter((alert) => !isStall(alert) && !isBreach(alert))
      .map((alert) => alert.updatedAt),
  )
  if (through !== undefined && latestRecorded > through) through = latestRecorded
  enqueueOwed(await listAlertTransitions(clickhouse), await settledDeliveries(clickhouse))
  return {
    alerts,
    through,
    progress: progressFromAlerts(alerts.values()),
    unnotified: new Set(latest.filter(firedSilenced).map((stored) => stored.fingerprint)),
    watermark: undefined,
  }
}

/** The latency CPIs (with deadlines) the "about to breach" rule watches, drafts left out. */
function breachWatch(definitions: readonly CpiDefinition[]): Omit<Context['breach'], 'policy'> {
  return {
    cpis: definitions
      .filter((definition) => definition.shape === 'latency' && definition.lifecycle !== 'draft')
      .map((definition) => ({
        name: definition.name,
        displayName: definition.displayName,
        alerting: definition.alerting,
      })),
    // As the breach queue: interactions may stay open for up to the revision horizon.
    lookBackMs: Math.max(revisionHorizonMs(definitions), 14 * 86_400_000),
  }
}

/** The CPIs' rule sets; tiers that can never fire are logged and kept as warnings. */
async function loadRules(config: AlerterConfig, logger: Logger, catalog?: readonly CpiDefinition[]) {
  const definitions = catalog ?? (await loadCatalog([builtinCatalogFile, ...config.processor.catalogFiles]))
  const rules = ruleSets(definitions, config.alerter.policy)
  const warnings: Record<string, string[]> = {}
  for (const set of rules) {
    if (set.warnings.length === 0) continue
    warnings[set.cpi.name] = set.warnings
    for (const warning of set.warnings) logger.warn({ cpi: set.cpi.name }, `alert rule: ${warning}`)
  }
  return { rules, warnings, breach: breachWatch(definitions) }
}

type Metrics = ReturnType<typeof alerterMetrics>

/** The outbox, recording every settled job in `alert_deliveries` under the receiver's name. */
function createDeliveries(
  stores: { clickhouse: ClickHouse; maxAttempts: number; logger: Logger },
  metrics: Metrics,
  receivers: readonly Receiver[],
  now: () => number,
) {
  const outbox = createOutbox({
    maxAttempts: stores.maxAttempts,
    logger: stores.logger,
    now,
    settle: async ({ job, outcome }) => {
      await recordDelivery(stores.clickhouse, {
        idempotencyKey: job.key,
        receiver: job.receiver.name,
        outcome,
        attempts: job.attempts,
        lastError: job.lastError,
        fingerprints: job.group.transitions.map((transition) => transition.fingerprint),
      })
      metrics.notifications.inc({ receiver: job.receiver.kind ?? job.receiver.name, outcome })
    },
  })
  const enqueueOwed = (rows: readonly StoredAlert[], settled: ReadonlySet<string>) => {
    for (const owed of owedGroups(rows, receivers, settled))
      outbox.enqueue(owed.group, owed.receivers, settled)
  }
  return { outbox, enqueueOwed }
}

/** The round's metrics and the log line of each notification it recorded. */
function report(logger: Logger, metrics: Metrics, state: State, stored: readonly StoredAlert[]) {
  if (state.through !== undefined) metrics.evaluatedThrough.set(state.through / 1000)
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
  for (const severity of ['page', 'ticket'])
    metrics.firing.set(
      { severity },
      [...state.alerts.values()].filter((a) => a.state === 'firing' && a.labels.severity === severity).length,
    )
}

/** What a round works with: the rules and settings, and the reads and writes of ClickHouse it makes. */
function roundContext(options: {
  config: AlerterConfig
  clickhouse: ClickHouse
  logger: Logger
  rules: Context['rules']
  breach: Omit<Context['breach'], 'policy'>
  receivers: readonly string[]
}): Context {
  const { config, clickhouse } = options
  const settings = config.alerter
  return {
    eventsTopic: config.topics.events,
    rules: options.rules,
    policy: settings.policy,
    links: {
      dashboardUrl: config.api.publicUrl,
      runbookUrl: settings.runbookUrl ?? `${config.api.publicUrl}/runbook`,
    },
    lookbackMs: settings.lookbackMs,
    stallAfterMs: settings.stallAfterMs,
    breach: { ...options.breach, policy: settings.breach },
    receivers: options.receivers,
    logger: options.logger,
    watermarks: () => queryWatermarks(clickhouse),
    minuteCounts: (query) => queryMinuteCounts(clickhouse, query),
    lastOutcomeTimes: (before) => queryLastOutcomeTimes(clickhouse, before),
    breachCounts: async (query) => (await queryBreaching(clickhouse, { ...query, limit: 1 })).counts,
    silences: (at) => listSilences(clickhouse, at),
    insertAlerts: (rows) => insertAlerts(clickhouse, rows),
    writeCheckpoint: (through) => writeCheckpoint(clickhouse, CHECKPOINT, through),
  }
}

/** Runs `round` every `intervalMs` after the previous one ended; `tick` runs one now (or joins the one running). */
function repeat(intervalMs: number, round: () => Promise<void>) {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  let stopped = false
  const tick = (): Promise<void> => {
    running ??= round().finally(() => {
      running = undefined
    })
    return running
  }
  const schedule = () => {
    if (stopped) return
    timer = setTimeout(() => {
      void tick().finally(schedule)
    }, intervalMs)
  }
  schedule()
  return {
    tick,
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}

/**
 * The alerter: every `intervalMs` it walks the minute steps of event time the watermark passed,
 * evaluates each CPI's rules and each partition's progress, records transitions in `alerts`
 * (before anything is sent, and before its own state changes: a failed write leaves the round to
 * the next one), then notifies webhooks, Slack and the alerts topic. Notifications of one step are
 * grouped by CPI and severity; silenced alerts are recorded, and notified if their silence ends
 * while they still fire.
 */
export async function startAlerter(options: {
  config: AlerterConfig
  clickhouse: ClickHouse
  kafka: Kafka
  registry: Registry
  logger: Logger
  catalog?: readonly CpiDefinition[]
  now?: () => number
}): Promise<Alerter> {
  const { config, clickhouse } = options
  const logger = options.logger.child({ component: 'alerter' })
  const now = options.now ?? Date.now
  const settings = config.alerter
  const { rules, warnings, breach } = await loadRules(config, logger, options.catalog)
  const metrics = alerterMetrics(options.registry)
  const { receivers, producer } = createReceivers(config, options.kafka, logger)
  const stores = { clickhouse, maxAttempts: settings.deliveryAttempts, logger }
  const { outbox, enqueueOwed } = createDeliveries(stores, metrics, receivers, now)
  const state = await restore(clickhouse, enqueueOwed)
  if (outbox.size() > 0)
    logger.info({ notifications: outbox.size() }, 'resending notifications owed before the restart')

  const names = receivers.map((receiver) => receiver.name)
  const context = roundContext({ config, clickhouse, logger, rules, breach, receivers: names })
  const rounds = repeat(settings.intervalMs, async () => {
    const end = metrics.duration.startTimer()
    try {
      const stored = await evaluateRound(context, state, now())
      report(logger, metrics, state, stored)
      enqueueOwed(stored, new Set())
    } catch (error) {
      logger.warn({ err: error }, 'alert evaluation failed; retrying at the next tick')
    } finally {
      end()
    }
    await outbox.deliverDue()
  })
  logger.info({ cpis: rules.length, receivers: names, through: state.through }, 'alerter started')

  return {
    tick: rounds.tick,
    warnings,
    evaluatedThrough: () => state.through,
    pendingDeliveries: () => outbox.size(),
    watermark: () => state.watermark,
    stalledPartitions: () => stalledPartitions(state),
    async stop() {
      await rounds.stop()
      await producer.disconnect()
    },
  }
}

/** The partitions whose stall alert fires, by topic and partition. */
function stalledPartitions(state: State): StalledPartition[] {
  return [...state.alerts.values()]
    .filter((alert) => isStall(alert) && alert.state === 'firing')
    .map((alert) => ({
      topic: alert.labels.topic ?? '',
      partition: Number(alert.labels.partition),
      watermark: Date.parse(alert.annotations.watermark ?? ''),
      since: Date.parse(alert.annotations.stalledSince ?? ''),
    }))
    .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
}

/**
 * `/readyz` detail: names every stalled partition. Advisory: the process serves, and restarting it
 * or taking it out of rotation would not move the partition.
 */
export function pipelineCheck(alerter: Pick<Alerter, 'stalledPartitions'>): ReadinessCheck {
  return {
    name: 'pipeline',
    advisory: true,
    check: async () => {
      const stalled = alerter.stalledPartitions()
      if (stalled.length === 0) return true
      const detail = stalled
        .map(
          (p) =>
            `partition ${p.partition} of ${p.topic} stalled: watermark ${new Date(p.watermark).toISOString()} ` +
            `unchanged since ${new Date(p.since).toISOString()}`,
        )
        .join('; ')
      return { ok: false, detail }
    },
  }
}
