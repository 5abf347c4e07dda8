import {
  type AlertLinks,
  type AlertPolicy,
  type AlertRecord,
  advance,
  alertingWatermark,
  type BreachWatchedCpi,
  breachConditions,
  isSilenced,
  type PartitionProgress,
  type PartitionWatermark,
  progressFromAlerts,
  type Silence,
  silenceEnded,
  stallConditions,
  type Transition,
  trackProgress,
} from '@cpi/alerting'
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
import { createOutbox, kafkaReceiver, type Receiver, slackReceiver, webhookReceiver } from './delivery.ts'
import {
  type CountRow,
  evaluateSteps,
  type RuleSet,
  rangesToRead,
  ruleSets,
  stepsBetween,
} from './evaluation.ts'
import { firedSilenced, owedGroups, toRecord, toStored } from './records.ts'

const CHECKPOINT = 'alerter'
/** At most a day of minute steps per evaluation (a longer gap is skipped with a warning). */
const MAX_STEPS = 1440
const isStall = (alert: AlertRecord) => alert.labels.rule === 'pipeline_stalled'
const isBreach = (alert: AlertRecord) => alert.labels.rule === 'about_to_breach'

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

/** What the alerter knows between rounds; changed only after a round is recorded. */
interface State {
  alerts: Map<string, AlertRecord>
  through: number | undefined
  progress: Map<string, PartitionProgress>
  /** Firing alerts whose firing was silenced: told once their silences end. */
  unnotified: Set<string>
  watermark: number | undefined
}

/** What one round would change, worked out on copies. */
interface Plan {
  alerts: Map<string, AlertRecord>
  transitions: Transition[]
  progress: Map<string, PartitionProgress>
  through: number | undefined
  /** The last minute step evaluated, when the round walked any. */
  lastStep: number | undefined
  watermark: number | undefined
}

/** The configuration the alerter reads: its own slice, the catalog files, the public URL, the topics. */
export type AlerterConfig = Pick<Config, 'alerter' | 'processor' | 'api' | 'topics'>

interface Context {
  clickhouse: ClickHouse
  rules: readonly RuleSet[]
  /** The latency CPIs the "about to breach" rule watches, and how far back their interactions may start. */
  breach: { cpis: readonly BreachWatchedCpi[]; lookBackMs: number }
  policy: AlertPolicy
  links: AlertLinks
  settings: Config['alerter']
  logger: Logger
}

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

/** Walks the minute steps of event time the lowest watermark passed, for every CPI, into the plan. */
async function evaluateCpis(context: Context, plan: Plan) {
  const { clickhouse, policy, settings, logger } = context
  if (plan.watermark === undefined) return
  plan.through ??= Math.floor((plan.watermark - settings.lookbackMs) / 60_000) * 60_000
  const steps = stepsBetween(plan.through, plan.watermark, MAX_STEPS)
  if (steps.length === 0) return
  const firstStep = steps[0] as number
  plan.lastStep = steps[steps.length - 1] as number
  if (firstStep > plan.through + 60_000)
    logger.warn(
      { from: new Date(plan.through).toISOString(), to: new Date(firstStep).toISOString() },
      'skipping an evaluation gap longer than a day',
    )
  for (const set of context.rules) {
    const rows: CountRow[] = []
    for (const range of rangesToRead(set, policy, firstStep, plan.lastStep))
      rows.push(...(await queryMinuteCounts(clickhouse, { cpi: set.cpi.name, ...range })))
    const last = (await queryLastOutcomeTimes(clickhouse, firstStep - set.lookbackMs)).get(set.cpi.name)
    const result = evaluateSteps({
      rules: set,
      rows,
      steps,
      alerts: new Map([...plan.alerts].filter(([, alert]) => alert.labels.cpi === set.cpi.name)),
      policy,
      links: context.links,
      lastDataBefore: last ?? null,
    })
    for (const [key, record] of result.alerts) plan.alerts.set(key, record)
    // A pending cycle that ended is forgotten by the lifecycle; keep it so its seq goes on.
    for (const transition of result.transitions)
      if (transition.to === 'inactive') plan.alerts.set(transition.fingerprint, transition.alert)
    plan.transitions.push(...result.transitions)
  }
}

/** Each partition's stall condition at wall time `at`, through the same lifecycle, into the plan. */
function evaluateStalls(context: Context, plan: Plan, observed: readonly PartitionWatermark[], at: number) {
  plan.progress = trackProgress(plan.progress, observed, at)
  const conditions = stallConditions({
    progress: plan.progress.values(),
    observed,
    at,
    stallAfterMs: context.settings.stallAfterMs,
    links: context.links,
  })
  const previous = new Map([...plan.alerts].filter(([, alert]) => isStall(alert)))
  // The threshold is the wait: a stalled partition fires at once.
  const step = advance(previous, conditions, at, { pendingForMs: 0 })
  for (const [key, record] of step.alerts) plan.alerts.set(key, record)
  plan.transitions.push(...step.transitions)
}

/**
 * "About to breach" (when CPI_ALERT_BREACH_WITHIN_MS is set): the breach queue's count per CPI
 * at wall time `at`, through the same lifecycle, into the plan. Fires at once: the deadline
 * will not wait for a pending period.
 */
async function evaluateBreaches(context: Context, plan: Plan, at: number) {
  const policy = context.settings.breach
  if (policy.withinMs <= 0 || context.breach.cpis.length === 0) return
  const found = await queryBreaching(context.clickhouse, {
    cpis: context.breach.cpis.map((cpi) => cpi.name),
    withinMs: policy.withinMs,
    lookBackMs: context.breach.lookBackMs,
    limit: 1,
  })
  const conditions = breachConditions({
    cpis: context.breach.cpis,
    counts: found.counts,
    policy,
    links: context.links,
  })
  const previous = new Map([...plan.alerts].filter(([, alert]) => isBreach(alert)))
  const step = advance(previous, conditions, at, { pendingForMs: 0 })
  for (const [key, record] of step.alerts) plan.alerts.set(key, record)
  plan.transitions.push(...step.transitions)
}

/** Firings told to nobody whose silences have all ended: told now, unless this round changed them. */
function tellEndedSilences(plan: Plan, unnotified: ReadonlySet<string>, silences: Silence[], at: number) {
  const changed = new Set(plan.transitions.map((transition) => transition.fingerprint))
  for (const fingerprint of unnotified) {
    const alert = plan.alerts.get(fingerprint)
    if (alert?.state !== 'firing' || changed.has(fingerprint)) continue
    if (isSilenced(alert.labels, silences, at).length > 0) continue
    const transition = silenceEnded(alert)
    plan.alerts.set(fingerprint, transition.alert)
    plan.transitions.push(transition)
  }
}

/** The recorded round becomes the state. */
function commit(state: State, plan: Plan, stored: readonly StoredAlert[]) {
  state.alerts = plan.alerts
  state.progress = plan.progress
  state.watermark = plan.watermark
  state.through = plan.lastStep ?? plan.through
  for (const row of stored)
    if (firedSilenced(row)) state.unnotified.add(row.fingerprint)
    else state.unnotified.delete(row.fingerprint)
}

/** The latency CPIs (with deadlines) the "about to breach" rule watches, drafts left out. */
function breachWatch(definitions: readonly CpiDefinition[]): Context['breach'] {
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
  context: Context,
  metrics: Metrics,
  receivers: readonly Receiver[],
  now: () => number,
) {
  const outbox = createOutbox({
    maxAttempts: context.settings.deliveryAttempts,
    logger: context.logger,
    now,
    settle: async ({ job, outcome }) => {
      await recordDelivery(context.clickhouse, {
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

/**
 * One evaluation: CPI rules on event time, partition progress on the wall clock, firings whose
 * silence ended; recorded, then made the state, then queued for delivery.
 */
async function evaluateRound(
  context: Context,
  state: State,
  deps: { eventsTopic: string; at: number; receivers: readonly string[] },
): Promise<StoredAlert[]> {
  const { clickhouse } = context
  const observed = (await queryWatermarks(clickhouse)).filter((p) => p.topic === deps.eventsTopic)
  const plan: Plan = {
    alerts: new Map(state.alerts),
    transitions: [],
    progress: state.progress,
    through: state.through,
    lastStep: undefined,
    watermark: alertingWatermark(observed, deps.eventsTopic),
  }
  await evaluateCpis(context, plan)
  evaluateStalls(context, plan, observed, deps.at)
  await evaluateBreaches(context, plan, deps.at)
  const silences = await listSilences(clickhouse, deps.at)
  tellEndedSilences(plan, state.unnotified, silences, deps.at)
  const stored = plan.transitions.map((transition) =>
    toStored(transition, transition.notify ? isSilenced(transition.alert.labels, silences, deps.at) : [], [
      ...deps.receivers,
    ]),
  )
  // Recorded before anything is sent (the table is the outbox) and before the state changes: a
  // failed write leaves the state as it was, so the next round works out and records the same rows.
  await insertAlerts(clickhouse, stored)
  if (plan.lastStep !== undefined) await writeCheckpoint(clickhouse, CHECKPOINT, plan.lastStep)
  commit(state, plan, stored)
  return stored
}

function report(context: Context, metrics: Metrics, state: State, stored: readonly StoredAlert[]) {
  if (state.through !== undefined) metrics.evaluatedThrough.set(state.through / 1000)
  for (const transition of stored) {
    metrics.transitions.inc({ state: transition.state, severity: transition.labels.severity ?? '' })
    if (transition.notify)
      context.logger.info(
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
  const context: Context = {
    clickhouse,
    rules,
    breach,
    policy: settings.policy,
    settings,
    logger,
    links: {
      dashboardUrl: config.api.publicUrl,
      runbookUrl: settings.runbookUrl ?? `${config.api.publicUrl}/runbook`,
    },
  }
  const metrics = alerterMetrics(options.registry)
  const { receivers, producer } = createReceivers(config, options.kafka, logger)
  const { outbox, enqueueOwed } = createDeliveries(context, metrics, receivers, now)
  const state = await restore(clickhouse, enqueueOwed)
  if (outbox.size() > 0)
    logger.info({ notifications: outbox.size() }, 'resending notifications owed before the restart')

  const names = receivers.map((receiver) => receiver.name)
  const rounds = repeat(settings.intervalMs, async () => {
    const end = metrics.duration.startTimer()
    try {
      const stored = await evaluateRound(context, state, {
        eventsTopic: config.topics.events,
        at: now(),
        receivers: names,
      })
      report(context, metrics, state, stored)
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
