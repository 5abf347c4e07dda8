// The live CPI dashboard: tiles, alert feed and freshness from the /v1/stream Server-Sent Events,
// and a drill-down panel (uPlot) from /v1/cpis/{name}; the analytics views (analytics.js) on the
// same page, one per ?view=. Plain DOM, no build step; type-checked with JSDoc (tsconfig.json
// here, types.d.ts).
// @ts-check

/**
 * @import {
 *   AlertState, AlertsResponse, AlertView, BreachingResponse, CatalogResponse, CpiSummary,
 *   CustomerValueResponse, Freshness, SeriesResponse, Snapshot,
 * } from './types'
 */
/** @import uPlot from 'uplot' */

import { isAnalyticsView, showAnalytics } from './analytics.js'
import {
  $,
  apiFetch,
  clock,
  duration,
  getJson,
  HEALTH,
  h,
  integer,
  PALETTE,
  percent,
  readToken,
  sparkline,
  targetPercent,
} from './common.js'

/** The drill-down's time ranges and the step of each. */
const RANGES = { '1h': '1m', '6h': '5m', '24h': '15m', '7d': '1h' }
/** @typedef {keyof typeof RANGES} Range */
/** @type {Range} */
const DEFAULT_RANGE = '6h'
/**
 * One of RANGES' own keys (not an inherited name such as `constructor`).
 * @param {string | null | undefined} range
 * @returns {range is Range}
 */
const isRange = (range) => Object.hasOwn(RANGES, range ?? '')
/** @type {Record<AlertState, number>} */
const STATE_ORDER = { firing: 0, pending: 1, resolved: 2 }
const RESOLVED_SHOWN = 10
const ALERTS_SHOWN = 6
const RESOLVED_MAX_AGE_MS = 24 * 3600_000
const FRESHNESS_AMBER_MS = 10_000
const FRESHNESS_RED_MS = 60_000
const STREAM_SILENCE_MS = 15_000
const DETAIL_REFRESH_MS = 5_000

/**
 * The drill-down shown: a CPI, optionally by a dimension (and one segment of it), over a range.
 * @typedef {object} Detail
 * @property {string} name
 * @property {string | null} by
 * @property {string | null} segment
 * @property {Range} range
 * @property {HTMLElement | null} returnFocus
 */

/**
 * @type {{
 *   cpis: Map<string, CpiSummary>,
 *   alerts: Map<string, AlertView>,
 *   freshness: Freshness | null,
 *   freshnessReceivedAt: number,
 *   resolvedLoaded: boolean,
 *   alertsExpanded: boolean,
 *   detail: Detail | null,
 * }}
 */
const state = {
  cpis: new Map(),
  alerts: new Map(),
  freshness: null,
  freshnessReceivedAt: 0,
  resolvedLoaded: false,
  alertsExpanded: false,
  detail: null,
}

// ---------- formatting ----------

// Alert times are event time: ages count from the pipeline's watermark (the wall clock when live,
// last week's clock during a replay), not from this browser's clock.
/** @param {string | null} iso */
function age(iso) {
  if (!iso) return '—'
  const watermark = state.freshness?.watermark ? Date.parse(state.freshness.watermark) : Number.NaN
  const ms = (Number.isNaN(watermark) ? Date.now() : watermark) - Date.parse(iso)
  if (ms < 60_000) return `${Math.max(0, Math.round(ms / 1000))} s`
  if (ms < 3600_000) return `${Math.round(ms / 60_000)} min`
  if (ms < 86_400_000) return `${Math.round(ms / 3600_000)} h`
  return `${Math.round(ms / 86_400_000)} d`
}

// ---------- tiles ----------

/** @param {string} name */
function createTile(name) {
  const tile = h(
    'button',
    {
      type: 'button',
      class: 'tile',
      'data-cpi': name,
      'aria-haspopup': 'dialog',
      onclick: () => openDetail(name),
    },
    h(
      'span',
      { class: 'tile-top' },
      h('span', { class: 'tile-name' }),
      h(
        'span',
        { class: 'badge health' },
        h('span', { class: 'icon', 'aria-hidden': 'true' }),
        h('span', { class: 'label' }),
      ),
    ),
    h(
      'span',
      { class: 'tile-figures' },
      h('span', { class: 'value' }),
      h('span', { class: 'target' }),
      h('span', { class: 'value-note', text: 'no outcome known yet', hidden: true }),
    ),
    h('span', { class: 'spark' }),
    h(
      'span',
      { class: 'tile-meta' },
      h('span', { class: 'trend', title: 'Change against the previous window' }),
      h('span', { class: 'pending' }),
      h('span', {
        class: 'provisional',
        title: 'May still change: its follow-up window is open',
        hidden: true,
      }),
      h('span', { class: 'firing', hidden: true }),
    ),
  )
  return tile
}

/**
 * @param {HTMLElement} tile
 * @param {CpiSummary} cpi
 */
function updateTile(tile, cpi) {
  /**
   * @param {string} selector
   * @param {string} text
   */
  const set = (selector, text) => {
    const node = /** @type {HTMLElement} */ (tile.querySelector(selector))
    if (node.textContent !== text) node.textContent = text
    return node
  }
  const health = HEALTH[cpi.health] ?? HEALTH.no_data
  tile.dataset.health = cpi.health
  const badge = /** @type {HTMLElement} */ (tile.querySelector('.health'))
  badge.dataset.health = cpi.health
  set('.tile-name', cpi.displayName || cpi.name)
  set('.health .icon', health.icon)
  set('.health .label', health.label)
  set('.value', percent(cpi.current?.ratio))
  const valueNote = /** @type {HTMLElement} */ (tile.querySelector('.value-note'))
  valueNote.hidden = cpi.current?.ratio !== null && cpi.current?.ratio !== undefined
  set('.target', `target ${targetPercent(cpi.objective.target)}`)
  const trend = /** @type {HTMLElement} */ (tile.querySelector('.trend'))
  if (cpi.trend === null || cpi.trend === undefined) {
    trend.dataset.direction = 'none'
    trend.textContent = 'no trend yet'
  } else {
    const points = cpi.trend * 100
    const direction = points >= 0.05 ? 'up' : points <= -0.05 ? 'down' : 'flat'
    trend.dataset.direction = direction
    const arrow = { up: '▲', down: '▼', flat: '▶' }[direction]
    trend.replaceChildren(
      h('span', { 'aria-hidden': 'true', text: `${arrow} ` }),
      h('span', { class: 'visually-hidden', text: `${direction === 'flat' ? 'steady' : direction} ` }),
      `${points >= 0 ? '+' : '−'}${Math.abs(points).toFixed(1)} pt`,
    )
  }
  set('.pending', `${integer.format(cpi.current?.pending ?? 0)} pending`)
  const provisional = set('.provisional', '◐ provisional')
  provisional.hidden = cpi.current?.status !== 'provisional'
  const firing = set('.firing', `${cpi.firingAlerts} alert${cpi.firingAlerts === 1 ? '' : 's'} firing`)
  firing.hidden = !cpi.firingAlerts
  const spark = JSON.stringify(cpi.sparkline)
  const holder = /** @type {HTMLElement} */ (tile.querySelector('.spark'))
  if (holder.dataset.points !== spark) {
    holder.dataset.points = spark
    holder.replaceChildren(sparkline(cpi.sparkline ?? [], cpi.objective.target))
  }
  tile.title = cpi.description ?? ''
}

function renderTiles() {
  const container = $('#tiles')
  container.querySelector('.placeholder')?.remove()
  for (const cpi of state.cpis.values()) {
    /** @type {HTMLElement | null} */
    let tile = container.querySelector(`.tile[data-cpi="${CSS.escape(cpi.name)}"]`)
    if (!tile) {
      tile = createTile(cpi.name)
      container.append(tile)
    }
    updateTile(tile, cpi)
  }
  for (const tile of container.querySelectorAll('.tile')) {
    if (!state.cpis.has(/** @type {HTMLElement} */ (tile).dataset.cpi ?? '')) tile.remove()
  }
}

/** @param {CpiSummary} cpi */
function upsertCpi(cpi) {
  state.cpis.set(cpi.name, cpi)
  renderTiles()
  if (state.detail?.name === cpi.name) refreshDetailSoon()
}

// ---------- alerts ----------

/** @param {AlertView} alert */
function alertDrillDown(alert) {
  const link = alert.annotations?.dashboard
  if (link) return link
  const params = new URLSearchParams({ cpi: alert.labels.cpi })
  if (alert.labels.dimension && alert.labels.dimension !== 'all' && alert.labels.segment) {
    params.set('by', alert.labels.dimension)
    params.set('segment', alert.labels.segment)
  }
  return `/?${params}`
}

/**
 * What an alert measured, in its rule's unit: a burn rate, a ratio, or a silence.
 * @param {AlertView} alert
 */
function measured(alert) {
  const { rule } = alert.labels
  if (rule === 'burn_rate') return `burn rate ${alert.value.toFixed(1)}× (threshold ${alert.threshold}×)`
  if (rule === 'no_data')
    return `silent for ${alert.value === null ? 'ever' : duration(alert.value)} (threshold ${duration(alert.threshold)})`
  if (rule === 'about_to_breach') return `${alert.value} open, deadline close (threshold ${alert.threshold})`
  if (rule === 'pipeline_stalled')
    return `not advancing for ${duration(alert.value)} (threshold ${duration(alert.threshold)})`
  return `value ${percent(alert.value)} (threshold ${percent(alert.threshold)})`
}

function visibleAlerts() {
  const now = Date.now()
  const all = [...state.alerts.values()]
  const active = all
    .filter((alert) => alert.state !== 'resolved')
    .sort(
      (a, b) =>
        STATE_ORDER[a.state] - STATE_ORDER[b.state] ||
        (a.labels.severity === 'page' ? 0 : 1) - (b.labels.severity === 'page' ? 0 : 1) ||
        Date.parse(b.activeSince) - Date.parse(a.activeSince),
    )
  const resolved = all
    .filter(
      (alert) =>
        alert.state === 'resolved' &&
        now - (alert.resolvedAt ? Date.parse(alert.resolvedAt) : 0) < RESOLVED_MAX_AGE_MS,
    )
    // Only alerts with a resolvedAt are left.
    .sort(
      (a, b) =>
        Date.parse(/** @type {string} */ (b.resolvedAt)) - Date.parse(/** @type {string} */ (a.resolvedAt)),
    )
    .slice(0, RESOLVED_SHOWN)
  return [...active, ...resolved]
}

function renderAlerts() {
  const list = $('#alerts')
  const all = visibleAlerts()
  const counts = { firing: 0, pending: 0, resolved: 0 }
  for (const alert of all) counts[alert.state]++
  $('#alerts-count').textContent = all.length
    ? `${counts.firing} firing · ${counts.pending} pending · ${counts.resolved} resolved`
    : ''
  const more = $('#alerts-more')
  more.hidden = all.length <= ALERTS_SHOWN
  more.textContent = state.alertsExpanded ? 'Show fewer alerts' : `Show all ${all.length} alerts`
  more.setAttribute('aria-expanded', String(state.alertsExpanded))
  const alerts = state.alertsExpanded ? all : all.slice(0, ALERTS_SHOWN)
  if (!alerts.length) {
    list.replaceChildren(
      h('li', { class: 'muted placeholder', text: 'No alerts: every CPI is within its objective.' }),
    )
    return
  }
  // The list is rebuilt on every change; a keyboard user's focus goes back to the same link.
  const focused = list.contains(document.activeElement) ? document.activeElement : null
  const focusedAlert = /** @type {HTMLElement | null | undefined} */ (focused?.closest('[data-fingerprint]'))
    ?.dataset.fingerprint
  const focusedText = focused?.textContent
  list.replaceChildren(
    ...alerts.map((alert) => {
      const since =
        alert.state === 'resolved'
          ? `resolved ${age(alert.resolvedAt)} ago`
          : alert.state === 'firing'
            ? `firing for ${age(alert.firedAt ?? alert.activeSince)}`
            : `pending for ${age(alert.activeSince)}`
      const segment =
        alert.labels.dimension && alert.labels.dimension !== 'all'
          ? ` · ${alert.labels.dimension}=${alert.labels.segment}`
          : ''
      return h(
        'li',
        { class: 'alert', 'data-state': alert.state, 'data-fingerprint': alert.fingerprint },
        h(
          'span',
          { class: 'alert-head' },
          h('span', {
            class: 'badge',
            'data-state': alert.state,
            text: alert.state.replace(/^./, (c) => c.toUpperCase()),
          }),
          h('span', { class: 'badge', 'data-severity': alert.labels.severity, text: alert.labels.severity }),
          alert.silenced ? h('span', { class: 'badge', text: 'silenced' }) : null,
        ),
        h('span', { class: 'alert-summary', text: alert.annotations?.summary || alert.labels.alertname }),
        h('span', {
          class: 'alert-meta',
          // A stalled partition belongs to no CPI: its topic says where it is.
          text: `${alert.labels.cpi || alert.labels.topic}${segment} · ${since} (since ${clock(alert.activeSince)}) · ${measured(alert)}`,
        }),
        h(
          'span',
          { class: 'alert-meta' },
          h('a', { href: alertDrillDown(alert), text: 'Open drill-down' }),
          alert.annotations?.runbook ? ' · ' : null,
          alert.annotations?.runbook ? h('a', { href: alert.annotations.runbook, text: 'Runbook' }) : null,
        ),
      )
    }),
  )
  if (focusedAlert) {
    const item = list.querySelector(`[data-fingerprint="${CSS.escape(focusedAlert)}"]`)
    const link = [...(item?.querySelectorAll('a') ?? [])].find(
      (candidate) => candidate.textContent === focusedText,
    )
    link?.focus()
  }
}

/** @param {string} text */
function announce(text) {
  const region = $('#announcer')
  // Clearing first makes a repeated identical message be read again.
  region.textContent = ''
  setTimeout(() => {
    region.textContent = text
  }, 50)
}

/** @param {AlertView} alert */
function upsertAlert(alert) {
  const before = state.alerts.get(alert.fingerprint)
  state.alerts.set(alert.fingerprint, alert)
  if (!before || before.state !== alert.state) {
    const summary = alert.annotations?.summary || `${alert.labels.alertname} on ${alert.labels.cpi}`
    announce(`Alert ${alert.state}: ${summary}`)
  }
  renderAlerts()
}

async function loadResolvedAlerts() {
  if (state.resolvedLoaded) return
  state.resolvedLoaded = true
  try {
    const response = await apiFetch('/v1/alerts?state=resolved')
    if (!response.ok) return
    const body = /** @type {AlertsResponse} */ (await response.json())
    for (const alert of body.alerts ?? []) {
      if (!state.alerts.has(alert.fingerprint)) state.alerts.set(alert.fingerprint, alert)
    }
    renderAlerts()
  } catch {
    // Recently resolved alerts are a nicety; the live feed still works without them.
  }
}

// ---------- freshness and connection ----------

/** @param {Freshness} freshness */
function setFreshness(freshness) {
  state.freshness = freshness
  state.freshnessReceivedAt = Date.now()
  renderFreshness()
  renderBeyondHorizon(freshness.beyondHorizon)
}

// Shown only while some are stored: late data left out of the CPIs is what an operator must see.
/** @param {Freshness['beyondHorizon'] | undefined} beyond */
function renderBeyondHorizon(beyond) {
  const note = $('#beyond-horizon')
  const count = beyond?.events ?? 0
  note.hidden = count === 0
  if (count === 0 || !beyond) return
  note.textContent = `${integer.format(count)} event${count === 1 ? '' : 's'} beyond the horizon`
  const events = `${integer.format(count)} stored event${count === 1 ? '' : 's'}`
  const newest = beyond.latestAt
    ? ` The newest arrived ${beyond.latestAt.slice(0, 10)} ${clock(beyond.latestAt)}.`
    : ''
  note.title =
    `${events} came later than the revision horizon (CPI_ALLOWED_LATENESS_MS behind their source's newest event): kept, but left out of the CPIs.${newest}\n` +
    'To bring them in: bin/cpi recompute --cpi NAME --from T --to T --include-late (docs/operations.md, Replay and recompute).'
}

function renderFreshness() {
  const pill = $('#freshness')
  const freshness = state.freshness
  const label = /** @type {HTMLElement} */ (pill.querySelector('.label'))
  if (!freshness) return
  // Alerts are evaluated up to the slowest partition's watermark: shown beside the newest one.
  $('#as-of').textContent = freshness.alertingWatermark
    ? `Watermark: ${clock(freshness.watermark)} · alerting at ${clock(freshness.alertingWatermark)}`
    : `Watermark: ${clock(freshness.watermark)}`
  if (freshness.freshnessMs === null || freshness.freshnessMs === undefined) {
    pill.dataset.level = 'unknown'
    label.textContent = 'Freshness: no events yet'
    return
  }
  const ageMs = freshness.freshnessMs + (Date.now() - state.freshnessReceivedAt)
  const stalled = freshness.stalled ?? []
  const level =
    stalled.length > 0 || ageMs > FRESHNESS_RED_MS ? 'red' : ageMs > FRESHNESS_AMBER_MS ? 'amber' : 'ok'
  const lag =
    freshness.consumerLag === null || freshness.consumerLag === undefined
      ? 'n/a'
      : integer.format(freshness.consumerLag)
  pill.dataset.level = level
  pill.title = stalled.length
    ? stalled
        .map(
          (p) =>
            `${p.topic} partition ${p.partition}: watermark ${clock(p.watermark)} since ${clock(p.since)}`,
        )
        .join('\n')
    : 'Age of the newest processed event and Kafka consumer lag'
  // A stalled partition holds every alert back: it leads the indicator.
  const word = stalled.length
    ? `Stalled: partition${stalled.length > 1 ? 's' : ''} ${stalled.map((p) => p.partition).join(', ')} since ${clock(stalled[0]?.since)}`
    : { ok: 'Fresh', amber: 'Delayed', red: 'Stale' }[level]
  label.textContent = stalled.length
    ? `${word} · data ${duration(ageMs)} old · lag ${lag}`
    : `${word}: data ${duration(ageMs)} old · lag ${lag}`
}

/**
 * @param {'connecting' | 'live' | 'reconnecting'} connection
 * @param {string} text
 */
function setConnection(connection, text) {
  const pill = $('#connection')
  pill.dataset.state = connection
  const label = /** @type {HTMLElement} */ (pill.querySelector('.label'))
  label.textContent = text
}

// ---------- the live stream ----------

/** @type {EventSource | null} */
let source = null
let retryMs = 1000
let lastMessageAt = 0
/** @type {ReturnType<typeof setInterval> | null} */
let fallbackTimer = null

/** @param {Snapshot} snapshot */
function applySnapshot(snapshot) {
  state.cpis = new Map((snapshot.cpis ?? []).map((cpi) => [cpi.name, cpi]))
  const resolved = [...state.alerts.values()].filter((alert) => alert.state === 'resolved')
  state.alerts = new Map([...resolved, ...(snapshot.alerts ?? [])].map((alert) => [alert.fingerprint, alert]))
  renderTiles()
  renderAlerts()
  if (snapshot.freshness) setFreshness(snapshot.freshness)
  void loadResolvedAlerts()
  openFromLocation()
}

function connect() {
  source?.close()
  const stream = new EventSource(
    readToken ? `/v1/stream?access_token=${encodeURIComponent(readToken)}` : '/v1/stream',
  )
  source = stream
  /**
   * @template T
   * @param {string} type
   * @param {(data: T) => void} apply
   */
  const listen = (type, apply) =>
    stream.addEventListener(type, (event) => {
      lastMessageAt = Date.now()
      try {
        apply(JSON.parse(event.data))
      } catch (error) {
        console.error(`bad ${type} event`, error)
      }
    })
  listen('snapshot', (/** @type {Snapshot} */ snapshot) => {
    retryMs = 1000
    stopFallback()
    setConnection('live', 'Live')
    applySnapshot(snapshot)
  })
  listen('cpi', upsertCpi)
  listen('alert', upsertAlert)
  listen('freshness', setFreshness)
  stream.addEventListener('error', () => {
    if (source !== stream) return
    setConnection('reconnecting', 'Reconnecting…')
    startFallback()
    // The browser retries on its own unless the server answered with an error status.
    if (stream.readyState === EventSource.CLOSED) {
      setTimeout(() => source === stream && connect(), retryMs)
      retryMs = Math.min(retryMs * 2, 30_000)
    }
  })
  lastMessageAt = Date.now()
}

/** While the stream is down, the REST endpoints keep the page roughly current. */
function startFallback() {
  if (fallbackTimer) return
  fallbackTimer = setInterval(() => void pollOnce(), 10_000)
  void pollOnce()
}

function stopFallback() {
  clearInterval(fallbackTimer ?? undefined)
  fallbackTimer = null
}

async function pollOnce() {
  let unauthorized = false
  try {
    const [cpis, alerts, freshness] = await Promise.all(
      ['/v1/cpis?window=1h', '/v1/alerts?state=active', '/v1/freshness'].map(async (url) => {
        const response = await apiFetch(url)
        if (response.status === 401) unauthorized = true
        if (!response.ok) throw new Error(`${url}: ${response.status}`)
        return response.json()
      }),
    )
    if (!fallbackTimer) return
    applySnapshot({
      cpis: /** @type {CatalogResponse} */ (cpis).cpis,
      alerts: /** @type {AlertsResponse} */ (alerts).alerts,
      freshness: /** @type {Freshness} */ (freshness),
    })
  } catch {
    // Still down: the indicator already says so, or why when it is a missing read token.
    if (unauthorized) setConnection('reconnecting', 'Needs a read token: open /?access_token=…')
  }
}

// ---------- drill-down ----------

const dialog = /** @type {HTMLDialogElement} */ ($('#detail'))
/** @type {NodeListOf<HTMLButtonElement>} */
const rangeButtons = dialog.querySelectorAll('[data-range]')
/** @type {uPlot | null} */
let chart = null
/** @type {ResizeObserver | null} */
let chartObserver = null
/** @type {AbortController | null} */
let detailAbort = null
/** @type {ReturnType<typeof setTimeout> | null} */
let detailTimer = null
let detailLoadedAt = 0

function readLocation() {
  const params = new URLSearchParams(location.search)
  return {
    name: params.get('cpi'),
    by: params.get('by'),
    segment: params.get('segment'),
    range: params.get('range'),
  }
}

function writeLocation() {
  const params = new URLSearchParams()
  const detail = state.detail
  if (detail) {
    params.set('cpi', detail.name)
    if (detail.by) params.set('by', detail.by)
    if (detail.by && detail.segment) params.set('segment', detail.segment)
    if (detail.range !== DEFAULT_RANGE) params.set('range', detail.range)
  }
  const query = params.toString()
  // After a back or forward to an analytics view, the closing dialog leaves that address alone.
  if (currentView() !== 'live') return
  history.replaceState(null, '', query ? `/?${query}` : '/')
}

function openFromLocation() {
  if (currentView() !== 'live') return
  const wanted = readLocation()
  if (!wanted.name || !state.cpis.has(wanted.name)) return
  if (state.detail?.name === wanted.name) return
  openDetail(wanted.name, wanted)
}

/**
 * @param {string} name
 * @param {{ by?: string | null, segment?: string | null, range?: string | null }} [options]
 */
function openDetail(name, options = {}) {
  const cpi = state.cpis.get(name)
  if (!cpi) return
  const by = options.by && cpi.dimensions.includes(options.by) ? options.by : null
  state.detail = {
    name,
    by,
    segment: by ? (options.segment ?? null) : null,
    range: isRange(options.range) ? options.range : DEFAULT_RANGE,
    returnFocus: document.activeElement instanceof HTMLElement ? document.activeElement : null,
  }
  $('#detail-title').textContent = cpi.displayName || cpi.name
  $('#detail-description').textContent =
    `${cpi.description} Objective: ${targetPercent(cpi.objective.target)} over ${cpi.objective.window}. Owner: ${cpi.owner}.`
  const select = /** @type {HTMLSelectElement} */ ($('#detail-by'))
  select.replaceChildren(
    h('option', { value: '', text: 'Whole CPI' }),
    ...cpi.dimensions.map((dimension) => h('option', { value: dimension, text: dimension })),
  )
  select.value = by ?? ''
  if (!dialog.open) dialog.showModal()
  writeLocation()
  void loadDetail()
}

function closeDetail() {
  if (dialog.open) dialog.close()
}

function onDetailClosed() {
  const returnFocus = state.detail?.returnFocus
  const name = state.detail?.name
  state.detail = null
  detailAbort?.abort()
  clearTimeout(detailTimer ?? undefined)
  detailTimer = null
  chartObserver?.disconnect()
  chart?.destroy()
  chart = null
  writeLocation()
  /** @type {HTMLElement | null} */
  const tile = name ? document.querySelector(`.tile[data-cpi="${CSS.escape(name)}"]`) : null
  ;(returnFocus?.isConnected ? returnFocus : tile)?.focus()
}

function refreshDetailSoon() {
  if (detailTimer) return
  const wait = Math.max(0, detailLoadedAt + DETAIL_REFRESH_MS - Date.now())
  detailTimer = setTimeout(() => {
    detailTimer = null
    if (state.detail) void loadDetail({ quiet: true })
  }, wait)
}

async function loadDetail({ quiet = false } = {}) {
  const detail = state.detail
  if (!detail) return
  detailAbort?.abort()
  const abort = new AbortController()
  detailAbort = abort
  for (const button of rangeButtons) {
    button.setAttribute('aria-pressed', String(button.dataset.range === detail.range))
  }
  const status = $('#detail-status')
  if (!quiet) status.textContent = 'Loading…'
  const base = new URLSearchParams({ from: `now-${detail.range}`, to: 'now' })
  if (detail.by) base.set('by', detail.by)
  const stepped = new URLSearchParams(base)
  stepped.set('step', RANGES[detail.range])
  const path = `/v1/cpis/${encodeURIComponent(detail.name)}`
  try {
    const [series, totals] = /** @type {[SeriesResponse, SeriesResponse]} */ (
      await Promise.all([
        getJson(`${path}?${stepped}`, abort.signal),
        getJson(`${path}?${base}`, abort.signal),
      ])
    )
    if (state.detail !== detail || abort.signal.aborted) return
    detailLoadedAt = Date.now()
    renderChart(series, detail)
    renderSegmentTable(totals, detail)
    const segments = totals.series.length
    status.textContent = detail.by
      ? `${segments} segment${segments === 1 ? '' : 's'} by ${detail.by}, last ${detail.range}. Updated ${clock(new Date().toISOString())}.`
      : `Last ${detail.range}. Updated ${clock(new Date().toISOString())}.`
  } catch (error) {
    if (abort.signal.aborted) return
    status.textContent = `Could not load: ${/** @type {Error} */ (error).message}`
  }
}

/**
 * @param {SeriesResponse} response
 * @param {Detail} detail
 */
function renderChart(response, detail) {
  const container = $('#detail-chart')
  const times = [
    ...new Set(
      response.series.flatMap((series) => series.points.map((point) => Date.parse(point.windowStart) / 1000)),
    ),
  ].sort((a, b) => a - b)
  const index = new Map(times.map((time, position) => [time, position]))
  const columns = response.series.map((series) => {
    /** @type {(number | null)[]} */
    const column = new Array(times.length).fill(null)
    // Every point's time is in `index`: the times are those of the points.
    for (const point of series.points)
      column[/** @type {number} */ (index.get(Date.parse(point.windowStart) / 1000))] = point.ratio
    return column
  })
  const target = response.target
  const values = columns.flat().filter((value) => value !== null)
  const low = Math.max(0, Math.floor((Math.min(target, ...values) - 0.05) * 20) / 20)
  const width = Math.max(200, container.clientWidth)
  const height = Math.min(320, Math.max(200, Math.round(width * 0.45)))
  /** @type {(u: uPlot, value: number | null) => string} */
  const format = (_u, value) => (value === null || value === undefined ? '—' : percent(value))
  /** @type {uPlot.Series[]} */
  const series = [
    {},
    ...response.series.map((series, position) => ({
      label: series.segment,
      stroke: PALETTE[position % PALETTE.length],
      width: detail.segment ? (series.segment === detail.segment ? 3 : 1.25) : 2,
      spanGaps: false,
      points: { show: times.length < 40 },
      value: format,
    })),
    {
      label: `target ${targetPercent(target)}`,
      stroke: '#4f5761',
      width: 1.5,
      dash: [6, 4],
      points: { show: false },
      value: format,
    },
  ]
  /** @type {uPlot.Options} */
  const options = {
    width,
    height,
    series,
    // The whole requested range, so a gap at either end shows as a gap, not a zoom.
    scales: {
      x: { time: true, range: [Date.parse(response.from) / 1000, Date.parse(response.to) / 1000] },
      y: { range: [low, 1] },
    },
    axes: [
      {},
      { values: (_u, ticks) => ticks.map((tick) => `${Number((tick * 100).toFixed(1))} %`), size: 56 },
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  }
  /** @type {uPlot.AlignedData} */
  const data = [times, ...columns, times.map(() => target)]
  chartObserver?.disconnect()
  chart?.destroy()
  container.replaceChildren()
  chart = new globalThis.uPlot(options, data, container)
  chartObserver = new ResizeObserver(() => {
    const next = Math.max(200, container.clientWidth)
    if (chart && Math.abs(next - chart.width) > 2) {
      chart.setSize({ width: next, height: Math.min(320, Math.max(200, Math.round(next * 0.45))) })
    }
  })
  chartObserver.observe(container)
  $('#detail-caption').textContent = times.length
    ? `Share of good outcomes per ${response.step ?? 'window'} (${response.series.length} series), dashed line: the target.`
    : 'No data in this range yet.'
}

/**
 * @param {SeriesResponse} response
 * @param {Detail} detail
 */
function renderSegmentTable(response, detail) {
  const latencies = /** @type {const} */ (['p50', 'p90', 'p99'])
  const rows = response.series.map((series) => ({ segment: series.segment, point: series.points[0] ?? null }))
  rows.sort((a, b) => (b.point?.total ?? 0) - (a.point?.total ?? 0))
  const latency = rows.some(
    (row) => row.point && (row.point.p50 !== null || row.point.p90 !== null || row.point.p99 !== null),
  )
  const headings = ['Segment', 'Value', 'Good / total', 'Pending', ...(latency ? latencies : []), 'Status']
  const table = /** @type {HTMLTableElement} */ ($('#detail-table'))
  // index.html gives the table its head and body.
  const head = /** @type {HTMLTableSectionElement} */ (table.tHead)
  const body = /** @type {HTMLTableSectionElement} */ (table.tBodies[0])
  $('#detail-table-caption').textContent = detail.by
    ? `Segments by ${detail.by}, last ${detail.range}`
    : `Whole CPI, last ${detail.range}`
  head.replaceChildren(h('tr', {}, ...headings.map((heading) => h('th', { scope: 'col', text: heading }))))
  if (!rows.length) {
    body.replaceChildren(
      h('tr', {}, h('td', { colspan: headings.length, text: 'No interactions in this range.' })),
    )
    return
  }
  body.replaceChildren(
    ...rows.map(({ segment, point }) =>
      h(
        'tr',
        { 'data-segment': segment, 'aria-current': detail.segment === segment ? 'true' : null },
        h('th', { scope: 'row', text: segment }),
        h('td', { class: 'segment-value', text: percent(point?.ratio) }),
        h('td', { text: point ? `${integer.format(point.good)} / ${integer.format(point.total)}` : '—' }),
        h('td', { text: point ? integer.format(point.pending) : '—' }),
        ...(latency ? latencies.map((key) => h('td', { text: duration(point?.[key]) })) : []),
        h('td', { text: point?.status ?? '—' }),
      ),
    ),
  )
}

// ---------- wiring ----------

dialog.addEventListener('close', onDetailClosed)
dialog.addEventListener('click', (event) => {
  // A click on the backdrop (the dialog element itself, outside its content box) closes it.
  if (event.target !== dialog) return
  const box = dialog.getBoundingClientRect()
  const inside =
    event.clientX >= box.left &&
    event.clientX <= box.right &&
    event.clientY >= box.top &&
    event.clientY <= box.bottom
  if (!inside) closeDetail()
})
$('#detail-close').addEventListener('click', closeDetail)
$('#alerts-more').addEventListener('click', () => {
  state.alertsExpanded = !state.alertsExpanded
  renderAlerts()
})
$('#detail-by').addEventListener('change', (event) => {
  if (!state.detail) return
  state.detail.by = /** @type {HTMLSelectElement} */ (event.target).value || null
  state.detail.segment = null
  writeLocation()
  void loadDetail()
})
for (const button of rangeButtons) {
  button.addEventListener('click', () => {
    if (!state.detail) return
    state.detail.range = /** @type {Range} */ (button.dataset.range)
    writeLocation()
    void loadDetail()
  })
}
// ---------- views ----------

/** `live` (tiles and alerts, the drill-down) or one of the analytics views, from ?view=. */
function currentView() {
  const params = new URLSearchParams(location.search)
  const view = params.get('view')
  return !params.get('cpi') && isAnalyticsView(view) ? view : 'live'
}

/**
 * Shows the view the address names; `focus` moves focus to its heading (after a navigation).
 * @param {{ focus?: boolean }} [options]
 */
function route({ focus = false } = {}) {
  const view = currentView()
  const live = view === 'live'
  $('#live').hidden = !live
  $('#analytics').hidden = live
  /** @type {NodeListOf<HTMLAnchorElement>} */
  const viewLinks = document.querySelectorAll('.views a[data-view]')
  for (const link of viewLinks) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  const skip = /** @type {HTMLAnchorElement} */ ($('.skip-link'))
  skip.href = live ? '#tiles-heading' : '#analytics-heading'
  skip.textContent = live ? 'Skip to the CPIs' : 'Skip to the analytics'
  const title = live ? 'Live' : document.querySelector(`.views a[data-view="${view}"]`)?.textContent
  document.title = `CPI · ${title}`
  if (dialog.open && (!live || !readLocation().name)) closeDetail()
  showAnalytics(view, new URLSearchParams(location.search), { focus })
  if (live) {
    if (focus) $('#tiles-heading').focus()
    openFromLocation()
  }
}

/** @param {URL} url */
function navigate(url) {
  history.pushState(null, '', `${url.pathname}${url.search}`)
  route({ focus: true })
}

window.addEventListener('popstate', () => route())

// Drill-down links (alert annotations, scorecards point here) and the view links open in place
// instead of reloading.
document.addEventListener('click', (event) => {
  /** @type {HTMLAnchorElement | null} */
  const link = event.target instanceof Element ? event.target.closest('a[href]') : null
  if (
    !link ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey
  )
    return
  const url = new URL(link.href, location.href)
  if (url.origin !== location.origin || url.pathname !== '/') return
  if (!url.searchParams.get('cpi')) {
    if (!link.closest('.views')) return
    event.preventDefault()
    navigate(url)
    return
  }
  event.preventDefault()
  if (currentView() === 'live') {
    history.replaceState(null, '', `${url.pathname}${url.search}`)
  } else {
    // From an analytics view: the live view with the drill-down, and Back returns.
    history.pushState(null, '', `${url.pathname}${url.search}`)
    route()
  }
  const wanted = readLocation()
  // The link's address has a cpi (checked above), which is now the page's.
  if (wanted.name) openDetail(wanted.name, wanted)
})

setInterval(() => {
  renderFreshness()
  if (source && Date.now() - lastMessageAt > STREAM_SILENCE_MS) {
    // Heartbeats come every second; a silent stream is a dead one, even if the socket is open.
    setConnection('reconnecting', 'Reconnecting…')
    startFallback()
    connect()
  }
}, 1000)
setInterval(renderAlerts, 30_000)

// ---------- breach queue ----------

const BREACHING_SHOWN = 10

/** Interactions whose deadline comes within 15 minutes of their partition's watermark (`GET /v1/breaching`). */
async function loadBreaching() {
  try {
    renderBreaching(
      /** @type {BreachingResponse} */ (await getJson(`/v1/breaching?within=15m&limit=${BREACHING_SHOWN}`)),
    )
  } catch (error) {
    $('#breaching').replaceChildren(
      h('li', {
        class: 'muted placeholder',
        text: `Breach queue unavailable: ${/** @type {Error} */ (error).message}`,
      }),
    )
  }
}

/** @param {BreachingResponse} body */
function renderBreaching(body) {
  const name = (/** @type {string} */ cpi) => state.cpis.get(cpi)?.displayName || cpi
  $('#breaching-count').textContent = body.total ? integer.format(body.total) : ''
  $('#breaching-by-cpi').textContent = body.counts
    .filter((count) => count.dimension === 'all')
    .map((count) => `${name(count.cpi)}: ${integer.format(count.count)}`)
    .join(' · ')
  if (!body.interactions.length) {
    $('#breaching').replaceChildren(
      h('li', { class: 'muted placeholder', text: 'Nothing is due within 15 minutes.' }),
    )
    return
  }
  $('#breaching').replaceChildren(
    ...body.interactions.map((interaction) => {
      const due =
        interaction.dueInMs >= 0
          ? `due in ${duration(interaction.dueInMs)}`
          : `due ${duration(-interaction.dueInMs)} ago`
      const segments = Object.entries(interaction.segments)
        .map(([dimension, value]) => `${dimension}=${value}`)
        .join(' · ')
      return h(
        'li',
        { class: 'breach', 'data-cpi': interaction.cpi, 'data-subject': interaction.subject },
        h('span', { class: 'breach-due', text: due }),
        h('span', { class: 'breach-cpi', text: name(interaction.cpi) }),
        h('span', {
          class: 'breach-subject',
          text: interaction.subject,
          title: `deadline ${clock(interaction.deadline)}`,
        }),
        h('span', { class: 'breach-segments muted small', text: segments }),
      )
    }),
  )
}

setInterval(() => void loadBreaching(), 15_000)
void loadBreaching()

// ---------- a customer's value ----------

const VALUE_CREDITS_SHOWN = 5
const VALUE_KINDS = { savings: 'Savings', usage: 'Usage', outcome: 'Outcomes' }

/**
 * An amount in its unit: money as currency (an ISO 4217 unit), anything else as a number and the unit.
 * @param {number} amount
 * @param {string} unit
 */
function inUnit(amount, unit) {
  if (/^[A-Z]{3}$/.test(unit)) {
    try {
      return new Intl.NumberFormat('en', { style: 'currency', currency: unit }).format(amount)
    } catch {
      // not a currency the browser knows: shown as a number below
    }
  }
  return `${new Intl.NumberFormat('en', { maximumFractionDigits: 2 }).format(amount)} ${unit}`
}

/** The number of the latest lookup: an answer to an earlier one (slower than the next) is dropped. */
let customerLookup = 0

/** @param {string} customer */
async function loadCustomerValue(customer) {
  const lookup = ++customerLookup
  const status = $('#value-status')
  status.textContent = `Loading the value of ${customer}…`
  try {
    const body = /** @type {CustomerValueResponse} */ (
      await getJson(`/v1/customers/${encodeURIComponent(customer)}/value?limit=${VALUE_CREDITS_SHOWN}`)
    )
    if (lookup === customerLookup) renderCustomerValue(body)
  } catch (error) {
    if (lookup !== customerLookup) return
    $('#value-totals').replaceChildren()
    $('#value-credits').replaceChildren()
    status.textContent = /** @type {Error} */ (error).message
  }
}

/** @param {CustomerValueResponse} body */
function renderCustomerValue(body) {
  const status = $('#value-status')
  if (!body.credits) {
    status.textContent = `Nothing credited to ${body.customerId} yet.`
    $('#value-totals').replaceChildren()
    $('#value-credits').replaceChildren()
    return
  }
  const since = body.firstCreditedAt ? new Date(body.firstCreditedAt).toISOString().slice(0, 10) : '—'
  status.textContent = `${integer.format(body.credits)} credit${body.credits === 1 ? '' : 's'} to ${body.customerId} since ${since}, the latest ${clock(body.lastCreditedAt)}.`
  $('#value-totals').replaceChildren(
    ...body.totals.map((total) =>
      h(
        'li',
        { class: 'value-total', 'data-kind': total.kind, 'data-unit': total.unit },
        h('span', { class: 'value-kind muted', text: VALUE_KINDS[total.kind] ?? total.kind }),
        h('span', { class: 'value-amount', text: inUnit(total.amount, total.unit) }),
        h('span', {
          class: 'value-promise muted small',
          text: total.creditsWithPromise
            ? `${integer.format(total.metPromise)} of ${integer.format(total.creditsWithPromise)} as promised (${percent(total.ratio)})`
            : `${integer.format(total.credits)} credit${total.credits === 1 ? '' : 's'}, none promised`,
        }),
      ),
    ),
  )
  $('#value-credits').replaceChildren(
    ...body.recent.map((credit) =>
      h(
        'li',
        { class: 'value-credit', 'data-id': credit.id },
        h('span', { text: clock(credit.creditedAt) }),
        h('span', { text: `${credit.kind} ${inUnit(credit.amount, credit.unit)}` }),
        h('span', {
          class: 'muted small',
          text: credit.promised === null ? 'no promise' : `promised ${inUnit(credit.promised, credit.unit)}`,
        }),
      ),
    ),
  )
}

$('#value-form').addEventListener('submit', (event) => {
  event.preventDefault()
  const customer = /** @type {HTMLInputElement} */ ($('#value-customer')).value.trim()
  if (customer) void loadCustomerValue(customer)
})

route()
connect()
