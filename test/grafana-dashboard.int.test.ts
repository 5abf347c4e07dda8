import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type ClickHouse,
  followCoarserGrains,
  insertOutcomes,
  insertRejectedEvents,
  minutesOf,
  type OutcomeRow,
  recordWatermarks,
  refreshRollups,
} from '@cpi/clickhouse'
import { describe, expect } from 'vitest'
import { parse } from 'yaml'
import { it } from './support/fixtures.ts'

// The Grafana provisioning under infra/grafana: its files parse and agree with each other, and
// every query of the dashboard, with Grafana's macros and variables expanded the way the
// ClickHouse plugin expands them, runs against the real engine and returns what the views say.

const grafanaDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'infra', 'grafana')
const PLUGIN = 'grafana-clickhouse-datasource'
/** The database the dashboard's SQL names; each test file gets its own instead. */
const DASHBOARD_DATABASE = 'cpi'
/** How the provisioning files refer to an environment variable: `${NAME}`. */
const env = (name: string) => `\${${name}}`

interface DatasourceRef {
  type?: string
  uid?: string
}
interface Target {
  refId: string
  datasource?: DatasourceRef
  editorType?: string
  format?: number
  rawSql?: string
}
interface Panel {
  id: number
  type: string
  title: string
  datasource?: DatasourceRef
  targets?: Target[]
  panels?: Panel[]
}
interface Variable {
  name: string
  type: string
  datasource?: DatasourceRef
  query?: string | { rawSql?: string }
  multi?: boolean
  includeAll?: boolean
}
interface Dashboard {
  uid: string
  schemaVersion: number
  panels: Panel[]
  templating: { list: Variable[] }
}

async function loadYaml(relative: string): Promise<Record<string, unknown>> {
  return parse(await readFile(path.join(grafanaDir, relative), 'utf8')) as Record<string, unknown>
}

async function loadDashboard(): Promise<Dashboard> {
  return JSON.parse(
    await readFile(path.join(grafanaDir, 'dashboards', 'cpi-overview.json'), 'utf8'),
  ) as Dashboard
}

/** Panels, those inside rows included. */
function allPanels(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])])
}

function variableSql(variable: Variable): string {
  return typeof variable.query === 'string' ? variable.query : (variable.query?.rawSql ?? '')
}

/** What Grafana knows when it sends a query: the time range, the interval, the variables' values. */
interface QueryContext {
  from: Date
  to: Date
  intervalSeconds: number
  variables: Record<string, string | string[]>
  database: string
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000)
const quote = (value: string) => `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`

/**
 * The SQL as ClickHouse receives it. Grafana replaces the template variables first (the plugin
 * joins a multi-value one as 'a','b'; `:singlequote` quotes each value), then the plugin's
 * backend expands its macros (pkg/macros: toDateTime(<unix seconds>), toStartOfInterval).
 */
function expand(sql: string, context: QueryContext): string {
  let out = sql
  for (const [name, value] of Object.entries(context.variables)) {
    const values = Array.isArray(value) ? value : [value]
    const plain = Array.isArray(value) ? values.map(quote).join(',') : values[0]
    out = out
      .replaceAll(`\${${name}:singlequote}`, values.map(quote).join(','))
      .replaceAll(`\${${name}}`, plain ?? '')
      .replace(new RegExp(`\\$${name}\\b`, 'g'), plain ?? '')
  }
  const from = `toDateTime(${seconds(context.from)})`
  const to = `toDateTime(${seconds(context.to)})`
  out = out
    .replace(
      /\$__timeFilter\(([^)]+)\)/g,
      (_, column: string) => `${column} >= ${from} AND ${column} <= ${to}`,
    )
    .replace(
      /\$__timeInterval\(([^)]+)\)/g,
      (_, column: string) =>
        `toStartOfInterval(toDateTime(${column}), INTERVAL ${Math.max(context.intervalSeconds, 1)} second)`,
    )
    .replaceAll('$__fromTime', from)
    .replaceAll('$__toTime', to)
  // The dashboard names the default database; this file's database has another name.
  out = out.replace(
    new RegExp(`(?<![\\w'.])${DASHBOARD_DATABASE}\\.(?=[a-z_]+\\b)`, 'g'),
    `${context.database}.`,
  )
  if (out.includes('$')) throw new Error(`unexpanded variable or macro left in:\n${out}`)
  return out
}

async function run(clickhouse: ClickHouse, sql: string): Promise<Record<string, unknown>[]> {
  // Times print in UTC whatever the engine's own time zone (Grafana reads them as instants anyway).
  const result = await clickhouse.reader.query({
    query: sql,
    format: 'JSONEachRow',
    clickhouse_settings: { session_timezone: 'UTC' },
  })
  return result.json<Record<string, unknown>>()
}

function panelByTitle(dashboard: Dashboard, fragment: string): Panel {
  const panel = allPanels(dashboard.panels).find((candidate) => candidate.title.includes(fragment))
  if (!panel) throw new Error(`no panel titled like "${fragment}"`)
  return panel
}

function sqlOf(panel: Panel, refId = 'A'): string {
  const target = panel.targets?.find((candidate) => candidate.refId === refId)
  if (!target?.rawSql) throw new Error(`panel "${panel.title}" has no query ${refId}`)
  return target.rawSql
}

// A fixed hour, far from now: the time range the test queries with.
const at = (minute: number, second = 0) => new Date(Date.UTC(2026, 0, 15, 10, minute, second))
const iso = (date: Date) => date.toISOString()

function outcome(
  cpi: string,
  subject: string,
  start: Date,
  state: OutcomeRow['state'],
  latencyMs: number | null,
  segments: Record<string, string>,
): OutcomeRow {
  return {
    cpi,
    definition_version: 1,
    subject,
    cohort_at: iso(start),
    state,
    status: state === 'pending' ? 'provisional' : 'final',
    latency_ms: latencyMs,
    open: 0,
    segments,
    revisit_at: null,
    watermark: iso(at(30)),
    kafka_partition: 0,
    version: 1,
  }
}

describe('Grafana provisioning (infra/grafana)', () => {
  it('provisions the ClickHouse plugin from the environment and a dashboard that only uses it', async () => {
    const datasources = (await loadYaml('provisioning/datasources/clickhouse.yaml')).datasources as Record<
      string,
      unknown
    >[]
    expect(datasources).toHaveLength(1)
    const [datasource] = datasources
    expect(datasource).toMatchObject({ type: PLUGIN, uid: 'cpi-clickhouse', editable: false })
    expect(datasource?.jsonData).toMatchObject({
      host: env('CLICKHOUSE_HOST'),
      port: env('CLICKHOUSE_PORT'),
      protocol: 'http',
      username: env('CLICKHOUSE_DASHBOARD_USER'),
      defaultDatabase: env('CLICKHOUSE_DATABASE'),
    })
    expect(datasource?.secureJsonData).toEqual({ password: env('CLICKHOUSE_DASHBOARD_PASSWORD') })
    const uid = String(datasource?.uid)

    const providers = (await loadYaml('provisioning/dashboards/cpi.yaml')).providers as Record<
      string,
      unknown
    >[]
    expect(providers).toEqual([
      expect.objectContaining({
        type: 'file',
        options: expect.objectContaining({ path: '/var/lib/grafana/dashboards' }),
      }),
    ])

    const dashboard = await loadDashboard()
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39)
    const panels = allPanels(dashboard.panels).filter((panel) => panel.type !== 'row')
    expect(panels.length).toBeGreaterThanOrEqual(7)
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: PLUGIN, uid })
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0)
      for (const target of panel.targets ?? []) {
        expect(target.datasource ?? panel.datasource, `${panel.title} ${target.refId}`).toEqual({
          type: PLUGIN,
          uid,
        })
        expect(target.editorType, panel.title).toBe('sql')
        expect([0, 1], panel.title).toContain(target.format)
        expect(target.rawSql?.trim(), panel.title).toBeTruthy()
      }
    }
    const variables = dashboard.templating.list
    expect(variables.map((variable) => variable.name)).toEqual(
      expect.arrayContaining(['cpi', 'dimension', 'segment']),
    )
    for (const variable of variables.filter((candidate) => candidate.type === 'query')) {
      expect(variable.datasource, variable.name).toEqual({ type: PLUGIN, uid })
      expect(variableSql(variable).trim(), variable.name).toBeTruthy()
    }
  })

  it('runs every query of the dashboard on the real engine, and the panels show the hand-computed values', async ({
    clickhouse,
  }) => {
    const dashboard = await loadDashboard()
    const context: QueryContext = {
      from: at(0),
      to: at(30),
      intervalSeconds: 60,
      variables: { cpi: 'fast_quote', dimension: 'all', segment: ['all'], target: '0.9' },
      database: clickhouse.database,
    }
    const queries = [
      ...dashboard.templating.list
        .filter((variable) => variable.type === 'query')
        .map((variable) => ({ name: `variable ${variable.name}`, sql: variableSql(variable) })),
      ...allPanels(dashboard.panels).flatMap((panel) =>
        (panel.targets ?? []).map((target) => ({
          name: `${panel.title} ${target.refId}`,
          sql: target.rawSql ?? '',
        })),
      ),
    ]

    // 3 query variables and 7 panels, the ratio panel with its target line: 11 queries.
    expect(queries.length).toBeGreaterThanOrEqual(11)

    // 1. On the empty, migrated database: every query is valid SQL on the views.
    for (const query of queries) {
      await expect(run(clickhouse, expand(query.sql, context)), query.name).resolves.toBeInstanceOf(Array)
    }

    // 2. Outcomes with known ratios. fast_quote, 10:00: good, good, good, bad (web, web, phone,
    // phone) and one pending; 10:01: good (web), bad (phone). on_time_in_full, 10:05: good, bad.
    const web = { channel: 'web' }
    const phone = { channel: 'phone' }
    const rows = [
      outcome('fast_quote', 'q1', at(0, 5), 'good', 1_000, web),
      outcome('fast_quote', 'q2', at(0, 10), 'good', 2_000, web),
      outcome('fast_quote', 'q3', at(0, 20), 'good', 3_000, phone),
      outcome('fast_quote', 'q4', at(0, 30), 'bad', 9_000, phone),
      outcome('fast_quote', 'q5', at(0, 40), 'pending', null, web),
      outcome('fast_quote', 'q6', at(1, 0), 'good', 500, web),
      outcome('fast_quote', 'q7', at(1, 30), 'bad', 8_000, phone),
      outcome('on_time_in_full', 'o1', at(5), 'good', null, {}),
      outcome('on_time_in_full', 'o2', at(5, 10), 'bad', null, {}),
    ]
    // Written the way the processor writes them: the outcomes, then their minutes' rollup.
    await insertOutcomes(clickhouse, rows)
    await refreshRollups(clickhouse, minutesOf(rows))
    await followCoarserGrains(clickhouse, undefined)
    await recordWatermarks(clickhouse, [
      {
        topic: 'cpi.events',
        partition: 0,
        watermark: Date.now() - 90_000,
        maxEventTime: Date.now() - 30_000,
      },
    ])
    await insertRejectedEvents(clickhouse, [
      {
        dedup_key: 'events:0:1',
        origin: 'processor',
        reason: 'schema',
        errors: '[]',
        event_id: 'e1',
        event_type: 'quote.requested',
        subject: 'q9',
        sender: 'test',
        raw: '{}',
        source_topic: 'cpi.events',
        source_partition: 0,
        source_offset: 1,
        dlq_partition: 0,
        dlq_offset: 0,
        rejected_at: iso(at(2)),
      },
    ])

    for (const query of queries) {
      await expect(run(clickhouse, expand(query.sql, context)), query.name).resolves.toBeInstanceOf(Array)
    }

    // Variables: the CPIs, then the dimensions of the chosen CPI, then its segment values.
    const variable = (name: string) => {
      const found = dashboard.templating.list.find((candidate) => candidate.name === name)
      if (!found) throw new Error(`no variable ${name}`)
      return variableSql(found)
    }
    expect(await run(clickhouse, expand(variable('cpi'), context))).toEqual([
      { cpi: 'fast_quote' },
      { cpi: 'on_time_in_full' },
    ])
    expect(await run(clickhouse, expand(variable('dimension'), context))).toEqual([
      { dimension: 'all' },
      { dimension: 'channel' },
    ])
    const byChannel = {
      ...context,
      variables: { ...context.variables, dimension: 'channel', segment: ['phone', 'web'] },
    }
    expect(await run(clickhouse, expand(variable('segment'), byChannel))).toEqual([
      { value: 'phone' },
      { value: 'web' },
    ])

    // Ratio over time: 3 of 4 at 10:00, 1 of 2 at 10:01; per channel, web 2/2 and 1/1, phone 1/2 and 0/1.
    const ratioPanel = panelByTitle(dashboard, 'ratio over time')
    const ratio = await run(clickhouse, expand(sqlOf(ratioPanel), context))
    expect(ratio.map((row) => [row.time, row.segment, Number(row.ratio)])).toEqual([
      ['2026-01-15 10:00:00', 'all', 0.75],
      ['2026-01-15 10:01:00', 'all', 0.5],
    ])
    const ratioByChannel = await run(clickhouse, expand(sqlOf(ratioPanel), byChannel))
    expect(ratioByChannel.map((row) => [row.time, row.segment, Number(row.ratio)])).toEqual([
      ['2026-01-15 10:00:00', 'phone', 0.5],
      ['2026-01-15 10:00:00', 'web', 1],
      ['2026-01-15 10:01:00', 'phone', 0],
      ['2026-01-15 10:01:00', 'web', 1],
    ])
    // Over a 5-minute interval the two minutes are one bucket: 4 good of 6.
    const fiveMinutes = await run(clickhouse, expand(sqlOf(ratioPanel), { ...context, intervalSeconds: 300 }))
    expect(fiveMinutes.map((row) => [row.time, Number(row.ratio)])).toEqual([['2026-01-15 10:00:00', 4 / 6]])
    // The target line spans the time range.
    const targetLine = await run(clickhouse, expand(sqlOf(ratioPanel, 'B'), context))
    expect(targetLine).toEqual([
      { time: '2026-01-15 10:00:00', target: 0.9 },
      { time: '2026-01-15 10:30:00', target: 0.9 },
    ])

    // Good / bad / pending bars.
    const bars = await run(
      clickhouse,
      expand(sqlOf(panelByTitle(dashboard, 'good / bad / pending')), context),
    )
    expect(
      bars.map((row) => [
        row.time,
        Number(row.Good),
        Number(row.Bad),
        Number(row.Pending),
        Number(row.Total),
      ]),
    ).toEqual([
      ['2026-01-15 10:00:00', 3, 1, 1, 4],
      ['2026-01-15 10:01:00', 1, 1, 0, 2],
    ])

    // Latency: percentiles of the known outcomes only, ordered p50 ≤ p90 ≤ p99, within their range.
    const latency = await run(clickhouse, expand(sqlOf(panelByTitle(dashboard, 'latency')), context))
    expect(latency).toHaveLength(2)
    for (const row of latency) {
      const [p50, p90, p99] = [Number(row.p50), Number(row.p90), Number(row.p99)]
      expect(p50).toBeGreaterThanOrEqual(500)
      expect(p50).toBeLessThanOrEqual(p90)
      expect(p90).toBeLessThanOrEqual(p99)
      expect(p99).toBeLessThanOrEqual(9_000)
    }

    // Last hour per CPI (the hour before the end of the range).
    const lastHour = await run(clickhouse, expand(sqlOf(panelByTitle(dashboard, 'last hour')), context))
    expect(lastHour.map((row) => [row.cpi, Number(row.ratio)])).toEqual([
      ['fast_quote', 4 / 6],
      ['on_time_in_full', 0.5],
    ])

    // Segments of the chosen dimension, worst first.
    const segments = await run(clickhouse, expand(sqlOf(panelByTitle(dashboard, 'by $dimension')), byChannel))
    expect(
      segments.map((row) => [
        row.Segment,
        Number(row.Good),
        Number(row.Total),
        Number(row.Pending),
        Number(row.Ratio),
        row.Status,
      ]),
    ).toEqual([
      ['phone', 1, 3, 0, 1 / 3, 'final'],
      ['web', 3, 3, 1, 1, 'provisional'],
    ])

    // Freshness: the latest event was 30 s ago, the watermark 90 s ago.
    const [freshness] = await run(clickhouse, expand(sqlOf(panelByTitle(dashboard, 'Freshness')), context))
    expect(Number(freshness?.latest_event_age)).toBeGreaterThanOrEqual(29)
    expect(Number(freshness?.latest_event_age)).toBeLessThan(90)
    expect(Number(freshness?.slowest_watermark_age)).toBeGreaterThanOrEqual(89)

    // Rejected events per reason.
    const rejected = await run(clickhouse, expand(sqlOf(panelByTitle(dashboard, 'Rejected events')), context))
    expect(rejected.map((row) => [row.time, row.reason, Number(row.rejected)])).toEqual([
      ['2026-01-15 10:02:00', 'schema', 1],
    ])
  })
})
