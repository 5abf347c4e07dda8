import { z } from 'zod'
import type { ClickHouse } from '../client.ts'
import { defineInsert, defineQuery } from '../query.ts'

// Tables `alerts`, `alert_deliveries`, `silences`, `alerter_checkpoints`, created by
// schemas/clickhouse/migrations/0004_create_alerts.sql (0007 adds `alerts.receivers`). Times are
// epoch milliseconds here.

export type AlertState = 'pending' | 'firing' | 'resolved' | 'inactive'

export interface StoredAlert {
  fingerprint: string
  seq: number
  state: AlertState
  previousState: AlertState
  labels: Record<string, string>
  annotations: Record<string, string>
  activeSince: number
  firedAt: number | null
  resolvedAt: number | null
  value: number
  threshold: number
  evaluatedAt: number
  notify: boolean
  silencedBy: string[]
  /** The receivers (by name) a notifying transition is addressed to; empty on rows older than 0007: all. */
  receivers: string[]
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
const ms = (value: unknown): number | null =>
  value === null || value === undefined ? null : Date.parse(`${String(value).replace(' ', 'T')}Z`)

/** Records alert transitions (one row per transition). */
export const insertAlerts: (clickhouse: ClickHouse, alerts: readonly StoredAlert[]) => Promise<void> =
  defineInsert({
    name: 'recording alert transitions',
    table: 'alerts',
    values: (alert: StoredAlert) => ({
      fingerprint: alert.fingerprint,
      seq: alert.seq,
      state: alert.state,
      previous_state: alert.previousState,
      labels: alert.labels,
      annotations: alert.annotations,
      active_since: iso(alert.activeSince),
      fired_at: iso(alert.firedAt),
      resolved_at: iso(alert.resolvedAt),
      value: Number.isFinite(alert.value) ? alert.value : 0,
      threshold: alert.threshold,
      evaluated_at: iso(alert.evaluatedAt),
      notify: alert.notify ? 1 : 0,
      silenced_by: alert.silencedBy,
      receivers: alert.receivers,
    }),
  })

function toStoredAlert(row: Record<string, unknown>): StoredAlert {
  return {
    fingerprint: String(row.fingerprint),
    seq: Number(row.seq),
    state: String(row.state) as AlertState,
    previousState: String(row.previous_state) as AlertState,
    labels: row.labels as Record<string, string>,
    annotations: row.annotations as Record<string, string>,
    activeSince: ms(row.active_since) ?? 0,
    firedAt: ms(row.fired_at),
    resolvedAt: ms(row.resolved_at),
    value: Number(row.value),
    threshold: Number(row.threshold),
    evaluatedAt: ms(row.evaluated_at) ?? 0,
    notify: Number(row.notify) === 1,
    silencedBy: (row.silenced_by as string[]) ?? [],
    receivers: (row.receivers as string[]) ?? [],
  }
}

const alertColumns = `fingerprint, seq, state, previous_state, labels, annotations, active_since, fired_at, resolved_at,
                      value, threshold, evaluated_at, notify, silenced_by, receivers`

const alertsQuery = defineQuery({
  name: 'listing alerts',
  params: z.object({
    states: z.array(z.enum(['pending', 'firing', 'resolved', 'inactive'])).default([]),
    alertname: z.string().default(''),
    resolvedSince: z.number().finite().optional(),
    limit: z.number().int().positive().default(1000),
  }),
  sql: (database) => `SELECT * FROM (
                SELECT ${alertColumns} FROM ${database}.alerts FINAL
                WHERE {alertname:String} = '' OR labels['alertname'] = {alertname:String}
                ORDER BY fingerprint, seq DESC LIMIT 1 BY fingerprint
              )
              WHERE (length({states:Array(String)}) = 0 OR has({states:Array(String)}, state))
                 OR (state = 'resolved' AND resolved_at >= toDateTime64({resolvedSince:Float64}, 3, 'UTC'))
              ORDER BY evaluated_at DESC, fingerprint
              LIMIT {limit:UInt32}`,
  bind: (params) => ({
    ...params,
    // Without a states filter every alert matches already; with one, resolved ones only on request.
    resolvedSince: params.resolvedSince === undefined ? 1e12 : params.resolvedSince / 1000,
  }),
  row: toStoredAlert,
})

/**
 * Each alert's latest transition. `states` filters on it (e.g. pending and firing: the active
 * alerts); `resolvedSince` adds alerts resolved at or after that event time; `alertname` keeps
 * one kind of alert (e.g. `PipelineStalled`).
 */
export function listAlerts(
  clickhouse: ClickHouse,
  filter: { states?: readonly AlertState[]; resolvedSince?: number; alertname?: string; limit?: number } = {},
): Promise<StoredAlert[]> {
  return alertsQuery(clickhouse, { ...filter, states: [...(filter.states ?? [])] })
}

const transitionsQuery = defineQuery({
  name: 'listing alert transitions',
  params: z.object({}),
  sql: (database) =>
    `SELECT ${alertColumns} FROM ${database}.alerts FINAL ORDER BY evaluated_at, fingerprint, seq`,
  row: toStoredAlert,
})

/** Every transition, oldest first (audit, tests). */
export const listAlertTransitions = (clickhouse: ClickHouse): Promise<StoredAlert[]> =>
  transitionsQuery(clickhouse, {})

export interface DeliveryRow {
  idempotencyKey: string
  receiver: string
  outcome: 'delivered' | 'failed'
  attempts: number
  lastError: string
  fingerprints: string[]
}

const deliveryInsert = defineInsert({
  name: 'recording an alert delivery',
  table: 'alert_deliveries',
  values: (row: DeliveryRow) => ({
    idempotency_key: row.idempotencyKey,
    receiver: row.receiver,
    outcome: row.outcome,
    attempts: row.attempts,
    last_error: row.lastError,
    fingerprints: row.fingerprints,
  }),
})

/** Records how a delivery to a receiver ended (delivered or failed for good). */
export const recordDelivery = (clickhouse: ClickHouse, row: DeliveryRow): Promise<void> =>
  deliveryInsert(clickhouse, [row])

const settledQuery = defineQuery({
  name: 'reading alert deliveries',
  params: z.object({}),
  sql: (database) => `SELECT DISTINCT receiver, idempotency_key FROM ${database}.alert_deliveries`,
  row: z.object({ receiver: z.string(), idempotency_key: z.string() }),
})

/** (receiver, idempotency key) pairs already settled, as `receiver\nkey`. */
export async function settledDeliveries(clickhouse: ClickHouse): Promise<Set<string>> {
  const rows = await settledQuery(clickhouse, {})
  return new Set(rows.map((row) => `${row.receiver}\n${row.idempotency_key}`))
}

export interface StoredSilence {
  id: string
  matchers: { name: string; value: string; isRegex?: boolean }[]
  startsAt: number
  endsAt: number
  createdBy: string
  comment: string
}

const silenceInsert = defineInsert({
  name: 'storing a silence',
  table: 'silences',
  values: (silence: StoredSilence) => ({
    id: silence.id,
    matchers: JSON.stringify(silence.matchers),
    starts_at: iso(silence.startsAt),
    ends_at: iso(silence.endsAt),
    created_by: silence.createdBy,
    comment: silence.comment,
  }),
})

/** Stores a silence (a later row with the same id replaces it). */
export const upsertSilence = (clickhouse: ClickHouse, silence: StoredSilence): Promise<void> =>
  silenceInsert(clickhouse, [silence])

const silencesQuery = defineQuery({
  name: 'listing silences',
  params: z.object({ at: z.number().finite().optional() }),
  sql: (database) => `SELECT id, matchers, starts_at, ends_at, created_by, comment
              FROM ${database}.silences FINAL
              WHERE {at:Float64} = 0 OR ends_at > toDateTime64({at:Float64}, 3, 'UTC')
              ORDER BY starts_at, id`,
  bind: ({ at }) => ({ at: at === undefined ? 0 : at / 1000 }),
  row: (row): StoredSilence => ({
    id: String(row.id),
    matchers: JSON.parse(String(row.matchers)),
    startsAt: ms(row.starts_at) ?? 0,
    endsAt: ms(row.ends_at) ?? 0,
    createdBy: String(row.created_by),
    comment: String(row.comment),
  }),
})

/** Silences not yet ended at `at` (all of them without `at`). */
export const listSilences = (clickhouse: ClickHouse, at?: number): Promise<StoredSilence[]> =>
  silencesQuery(clickhouse, at === undefined ? {} : { at })

const checkpointQuery = defineQuery({
  name: 'reading an alerter checkpoint',
  params: z.object({ name: z.string() }),
  sql: (
    database,
  ) => `SELECT toUnixTimestamp64Milli(argMax(evaluated_through, updated_at)) AS at, count() AS rows
              FROM ${database}.alerter_checkpoints WHERE name = {name:String}`,
  row: z.object({ at: z.coerce.number(), rows: z.coerce.number() }),
})

/** Where the named evaluation stopped (epoch ms), if it ever ran. */
export async function readCheckpoint(clickhouse: ClickHouse, name: string): Promise<number | undefined> {
  const [row] = await checkpointQuery(clickhouse, { name })
  return row && row.rows > 0 ? row.at : undefined
}

const checkpointInsert = defineInsert({
  name: 'writing an alerter checkpoint',
  table: 'alerter_checkpoints',
  values: ({ name, at }: { name: string; at: number }) => ({ name, evaluated_through: iso(at) }),
})

/** Records that the named evaluation went up to `at` (epoch ms). */
export const writeCheckpoint = (clickhouse: ClickHouse, name: string, at: number): Promise<void> =>
  checkpointInsert(clickhouse, [{ name, at }])
