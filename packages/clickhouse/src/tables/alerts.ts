import type { ClickHouse } from '../client.ts'
import { toClickHouseError } from '../errors.ts'

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

export async function insertAlerts(clickhouse: ClickHouse, alerts: readonly StoredAlert[]): Promise<void> {
  if (alerts.length === 0) return
  try {
    await clickhouse.writer.insert({
      table: `${clickhouse.database}.alerts`,
      values: alerts.map((alert) => ({
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
      })),
      format: 'JSONEachRow',
    })
  } catch (error) {
    throw toClickHouseError(error, `recording ${alerts.length} alert transitions`)
  }
}

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

/**
 * Each alert's latest transition. `states` filters on it (e.g. pending and firing: the active
 * alerts); `resolvedSince` adds alerts resolved at or after that event time; `alertname` keeps
 * one kind of alert (e.g. `PipelineStalled`).
 */
export async function listAlerts(
  clickhouse: ClickHouse,
  filter: { states?: readonly AlertState[]; resolvedSince?: number; alertname?: string; limit?: number } = {},
): Promise<StoredAlert[]> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT * FROM (
                SELECT ${alertColumns} FROM ${clickhouse.database}.alerts FINAL
                WHERE {alertname:String} = '' OR labels['alertname'] = {alertname:String}
                ORDER BY fingerprint, seq DESC LIMIT 1 BY fingerprint
              )
              WHERE (length({states:Array(String)}) = 0 OR has({states:Array(String)}, state))
                 OR (state = 'resolved' AND resolved_at >= toDateTime64({resolvedSince:Float64}, 3, 'UTC'))
              ORDER BY evaluated_at DESC, fingerprint
              LIMIT {limit:UInt32}`,
      query_params: {
        states: filter.states ?? [],
        alertname: filter.alertname ?? '',
        // Without a states filter every alert matches already; with one, resolved ones only on request.
        resolvedSince: filter.resolvedSince === undefined ? 1e12 : filter.resolvedSince / 1000,
        limit: filter.limit ?? 1000,
      },
      format: 'JSONEachRow',
    })
    return (await result.json<Record<string, unknown>>()).map(toStoredAlert)
  } catch (error) {
    throw toClickHouseError(error, 'listing alerts')
  }
}

/** Every transition, oldest first (audit, tests). */
export async function listAlertTransitions(clickhouse: ClickHouse): Promise<StoredAlert[]> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT ${alertColumns} FROM ${clickhouse.database}.alerts FINAL ORDER BY evaluated_at, fingerprint, seq`,
      format: 'JSONEachRow',
    })
    return (await result.json<Record<string, unknown>>()).map(toStoredAlert)
  } catch (error) {
    throw toClickHouseError(error, 'listing alert transitions')
  }
}

export interface DeliveryRow {
  idempotencyKey: string
  receiver: string
  outcome: 'delivered' | 'failed'
  attempts: number
  lastError: string
  fingerprints: string[]
}

export async function recordDelivery(clickhouse: ClickHouse, row: DeliveryRow): Promise<void> {
  try {
    await clickhouse.writer.insert({
      table: `${clickhouse.database}.alert_deliveries`,
      values: [
        {
          idempotency_key: row.idempotencyKey,
          receiver: row.receiver,
          outcome: row.outcome,
          attempts: row.attempts,
          last_error: row.lastError,
          fingerprints: row.fingerprints,
        },
      ],
      format: 'JSONEachRow',
    })
  } catch (error) {
    throw toClickHouseError(error, `recording the delivery ${row.idempotencyKey} to ${row.receiver}`)
  }
}

/** (receiver, idempotency key) pairs already settled, as `receiver\nkey`. */
export async function settledDeliveries(clickhouse: ClickHouse): Promise<Set<string>> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT DISTINCT receiver, idempotency_key FROM ${clickhouse.database}.alert_deliveries`,
      format: 'JSONEachRow',
    })
    const rows = await result.json<{ receiver: string; idempotency_key: string }>()
    return new Set(rows.map((row) => `${row.receiver}\n${row.idempotency_key}`))
  } catch (error) {
    throw toClickHouseError(error, 'reading alert deliveries')
  }
}

export interface StoredSilence {
  id: string
  matchers: { name: string; value: string; isRegex?: boolean }[]
  startsAt: number
  endsAt: number
  createdBy: string
  comment: string
}

export async function upsertSilence(clickhouse: ClickHouse, silence: StoredSilence): Promise<void> {
  try {
    await clickhouse.writer.insert({
      table: `${clickhouse.database}.silences`,
      values: [
        {
          id: silence.id,
          matchers: JSON.stringify(silence.matchers),
          starts_at: iso(silence.startsAt),
          ends_at: iso(silence.endsAt),
          created_by: silence.createdBy,
          comment: silence.comment,
        },
      ],
      format: 'JSONEachRow',
    })
  } catch (error) {
    throw toClickHouseError(error, `storing silence ${silence.id}`)
  }
}

/** Silences not yet ended at `at` (all of them without `at`). */
export async function listSilences(clickhouse: ClickHouse, at?: number): Promise<StoredSilence[]> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT id, matchers, starts_at, ends_at, created_by, comment
              FROM ${clickhouse.database}.silences FINAL
              WHERE {at:Float64} = 0 OR ends_at > toDateTime64({at:Float64}, 3, 'UTC')
              ORDER BY starts_at, id`,
      query_params: { at: at === undefined ? 0 : at / 1000 },
      format: 'JSONEachRow',
    })
    const rows = await result.json<Record<string, unknown>>()
    return rows.map((row) => ({
      id: String(row.id),
      matchers: JSON.parse(String(row.matchers)),
      startsAt: ms(row.starts_at) ?? 0,
      endsAt: ms(row.ends_at) ?? 0,
      createdBy: String(row.created_by),
      comment: String(row.comment),
    }))
  } catch (error) {
    throw toClickHouseError(error, 'listing silences')
  }
}

export async function readCheckpoint(clickhouse: ClickHouse, name: string): Promise<number | undefined> {
  try {
    const result = await clickhouse.reader.query({
      query: `SELECT toUnixTimestamp64Milli(argMax(evaluated_through, updated_at)) AS at, count() AS rows
              FROM ${clickhouse.database}.alerter_checkpoints WHERE name = {name:String}`,
      query_params: { name },
      format: 'JSONEachRow',
    })
    const [row] = await result.json<{ at: string | number; rows: string | number }>()
    return row && Number(row.rows) > 0 ? Number(row.at) : undefined
  } catch (error) {
    throw toClickHouseError(error, `reading checkpoint ${name}`)
  }
}

export async function writeCheckpoint(clickhouse: ClickHouse, name: string, at: number): Promise<void> {
  try {
    await clickhouse.writer.insert({
      table: `${clickhouse.database}.alerter_checkpoints`,
      values: [{ name, evaluated_through: iso(at) }],
      format: 'JSONEachRow',
    })
  } catch (error) {
    throw toClickHouseError(error, `writing checkpoint ${name}`)
  }
}
