// The customer-centric analytics views (/v1/analytics/*), one per ?view=: the shared customer
// index, team scorecards, perception vs performance, CPI → KPI linkage and experiments. Charts
// are uPlot (the index over time) and small SVGs; every chart has a text alternative beside it.
// Type-checked with JSDoc (tsconfig.json here, types.d.ts).
// @ts-check

/**
 * @import {
 *   ArmMetric, CatalogResponse, Difference, ExperimentArm, ExperimentCpi, ExperimentsResponse,
 *   Health, IndexResponse, IndexWindow, Interval, LinkageResponse, MetricComparison,
 *   PerceptionEntry, PerceptionResponse, ScorecardBrief, ScorecardsResponse,
 * } from './types'
 */
/** @import uPlot from 'uplot' */

import { $, clock, getJson, HEALTH, h, integer, PALETTE, percent, targetPercent } from './common.js'

const REFRESH_MS = 30_000
/** @type {Record<string, string>} */
const HEALTH_WORDS = { ok: 'OK', at_risk: 'at risk', breached: 'breached', no_data: 'no data' }
const WINDOWS = { '1h': 'hour', '1d': 'day', '7d': 'week' }
const RANGES = { '7d': 'last 7 days', '30d': 'last 30 days', '90d': 'last 90 days' }
/** @typedef {keyof typeof WINDOWS} WindowKey */
/** @typedef {keyof typeof RANGES} RangeKey */
/** @type {WindowKey} */
const DEFAULT_WINDOW = '1d'
/** @type {RangeKey} */
const DEFAULT_RANGE = '30d'
const DEFAULT_MDE = 0.02
const MET = '#0b6a2e'
const MISSED = '#a3141a'
/** Arms are told apart by hue; red and green stay for status. */
const ARM_COLOURS = ['#0b57d0', '#6b2fa3', '#00677f', '#8a4f00', '#a3195b']
/** @type {Record<MetricComparison['decision'], { icon: string, label: string }>} */
const DECISIONS = {
  collecting: { icon: '◔', label: 'Collecting' },
  significant: { icon: '✓', label: 'Significant' },
  not_significant: { icon: '=', label: 'Not significant' },
}

// ---------- formatting ----------

/** @typedef {'pt' | 'points' | ''} Unit */

/**
 * A 0–100 index value.
 * @param {number | null | undefined} value
 */
const points = (value, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? '—' : value.toFixed(digits)

/**
 * A rate; small rates keep two decimals so 0.35 % does not read as 0.3 %.
 * @param {number | null | undefined} ratio
 */
const rate = (ratio) =>
  ratio === null || ratio === undefined ? '—' : percent(ratio, Math.abs(ratio) < 0.1 ? 2 : 1)

/** @param {number} value */
const sign = (value) => (value > 0 ? '+' : value < 0 ? '−' : '')

/**
 * A signed number with a real minus sign.
 * @param {number} value
 * @param {number} digits
 */
const signed = (value, digits) => `${sign(value)}${Math.abs(value).toFixed(digits)}`

/**
 * A difference of proportions in percentage points.
 * @param {number} difference
 */
const pointsDiff = (difference) => {
  const value = difference * 100
  return `${signed(value, Math.abs(value) < 1 ? 2 : 1)} pt`
}

/**
 * A difference with its interval, all three with the same decimals: `+46.0 pt (95 % CI +23.1
 * to +68.9)`. `unit` pt (a difference of proportions), points (NPS) or none (a mean).
 * @param {number} difference
 * @param {Interval} interval
 * @param {Unit} unit
 */
function withInterval(difference, interval, unit, confidence = '95 %') {
  const scale = unit === 'pt' ? 100 : 1
  const largest = Math.max(...[difference, interval.lower, interval.upper].map((v) => Math.abs(v * scale)))
  const digits = unit === 'points' ? 0 : unit === 'pt' ? (largest < 2 ? 2 : 1) : 2
  const format = (/** @type {number} */ value) => signed(value * scale, digits)
  return `${format(difference)}${unit ? ` ${unit}` : ''} (${confidence} CI ${format(interval.lower)} to ${format(interval.upper)})`
}

/** @param {number} p */
const pValue = (p) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`)

/** @param {number} alpha */
const confidenceOf = (alpha) => `${Math.round((1 - alpha) * 100)} %`

/**
 * quote → quotes, delivery → deliveries.
 * @param {string} word
 */
const pluralWord = (word) => (/[^aeiou]y$/.test(word) ? `${word.slice(0, -1)}ies` : `${word}s`)

/**
 * @param {number} count
 * @param {string} word
 */
const plural = (count, word) => `${integer.format(count)} ${count === 1 ? word : pluralWord(word)}`

/** @param {Health} health */
function healthBadge(health, extraClass = '') {
  const shown = HEALTH[health] ?? HEALTH.no_data
  return h(
    'span',
    { class: `badge health ${extraClass}`.trim(), 'data-health': health },
    h('span', { class: 'icon', 'aria-hidden': 'true', text: shown.icon }),
    h('span', { class: 'label', text: shown.label }),
  )
}

// ---------- small SVG charts ----------

/**
 * A group's estimate (null without data) and its interval, as the charts take them.
 * @typedef {{ estimate: number | null, lower: number, upper: number }} ChartGroup
 */

/**
 * @typedef {object} Axis
 * @property {number} max
 * @property {number[]} ticks
 * @property {(tick: number) => string} label
 */

/**
 * A 0-based axis up to at least `value` (a rate): round steps, at most about five of them.
 * @param {number} value
 * @param {{ limit?: number }} [options]
 * @returns {Axis}
 */
function axisOf(value, { limit = 1 } = {}) {
  const top = value > 0 ? Math.min(limit, value) : limit
  const raw = top / 4
  const power = 10 ** Math.floor(Math.log10(raw))
  // 10 × power is above raw: there is always one.
  const step = /** @type {number} */ (
    [1, 2, 2.5, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= raw - 1e-12)
  )
  const count = Math.ceil(top / step - 1e-9)
  const ticks = Array.from({ length: count + 1 }, (_, index) => index * step)
  // Decimals the step needs in percent (2.5 % needs one, 0.05 % two).
  let digits = 0
  while (digits < 4 && Math.abs(Math.round(step * 100 * 10 ** digits) - step * 100 * 10 ** digits) > 1e-6)
    digits++
  return {
    max: /** @type {number} */ (ticks[ticks.length - 1]),
    ticks,
    label: (tick) => `${(tick * 100).toFixed(digits)} %`,
  }
}

/**
 * Horizontal intervals, one row per group: a line above names the group and its figures, below
 * it the whisker (interval) with a dot (estimate), optionally on a bar from zero. Its own size
 * is its natural size; CSS only scales it down.
 * @param {({ key: string, text: string, color: string | undefined } & ChartGroup)[]} rows
 * @param {{ axis?: Axis, bars?: boolean, label: string }} options
 */
function intervalChart(rows, { axis = axisOf(1), bars = false, label }) {
  const { max } = axis
  const width = 360
  const left = 8
  const right = width - 12
  const rowHeight = 46
  const height = rows.length * rowHeight + 26
  const x = (/** @type {number} */ value) => left + (Math.max(0, Math.min(max, value)) / max) * (right - left)
  const svg = h('svg', {
    class: 'svg-chart interval-chart',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': label,
  })
  const axisY = rows.length * rowHeight + 4
  for (const tick of axis.ticks) {
    svg.append(
      h('line', { class: 'grid', x1: x(tick), x2: x(tick), y1: 4, y2: axisY }),
      h('text', {
        class: 'tick',
        x: x(tick),
        y: axisY + 16,
        'text-anchor': tick === 0 ? 'start' : tick === max ? 'end' : 'middle',
        text: axis.label(tick),
      }),
    )
  }
  rows.forEach((row, index) => {
    const top = index * rowHeight
    const mid = top + 32
    const group = h('g', { class: 'row', 'data-group': row.key })
    group.append(h('text', { class: 'row-label', x: left, y: top + 15, text: row.text }))
    if (row.estimate !== null && row.estimate !== undefined) {
      if (bars)
        group.append(
          h('rect', {
            class: 'bar',
            x: left,
            y: mid - 7,
            width: Math.max(0, x(row.estimate) - left),
            height: 14,
            fill: row.color,
          }),
        )
      group.append(
        h('line', { class: 'whisker', x1: x(row.lower), x2: x(row.upper), y1: mid, y2: mid }),
        h('line', { class: 'whisker', x1: x(row.lower), x2: x(row.lower), y1: mid - 6, y2: mid + 6 }),
        h('line', { class: 'whisker', x1: x(row.upper), x2: x(row.upper), y1: mid - 6, y2: mid + 6 }),
      )
      if (!bars)
        group.append(h('circle', { class: 'marker', cx: x(row.estimate), cy: mid, r: 6, fill: row.color }))
    }
    // Without an estimate the row's text says so ("no responses", "no interactions").
    svg.append(group)
  })
  svg.append(h('line', { class: 'axis', x1: left, x2: right, y1: axisY, y2: axisY }))
  return svg
}

/**
 * Vertical bars with whiskers, one per group, the value above and the group and n below.
 * @param {({ key: string, trials: number, color: string | undefined } & ChartGroup)[]} groups
 * @param {{ label: string }} options
 */
function barChart(groups, { label }) {
  const width = 380
  const height = 236
  const left = 48
  const right = width - 8
  const top = 22
  const bottom = 170
  const axis = axisOf(
    Math.max(0, ...groups.filter((group) => group.estimate !== null).map((group) => group.upper)),
  )
  const { max } = axis
  const y = (/** @type {number} */ value) =>
    bottom - (Math.max(0, Math.min(max, value)) / max) * (bottom - top)
  const slot = (right - left) / groups.length
  const svg = h('svg', {
    class: 'svg-chart bar-chart',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': label,
  })
  for (const tick of axis.ticks) {
    svg.append(
      h('line', { class: 'grid', x1: left, x2: right, y1: y(tick), y2: y(tick) }),
      h('text', { class: 'tick', x: left - 6, y: y(tick) + 4, 'text-anchor': 'end', text: axis.label(tick) }),
    )
  }
  groups.forEach((group, index) => {
    const centre = left + slot * (index + 0.5)
    const barWidth = Math.min(48, slot * 0.56)
    const g = h('g', { class: 'group', 'data-group': group.key })
    if (group.estimate !== null) {
      g.append(
        h('rect', {
          class: 'bar',
          x: centre - barWidth / 2,
          y: y(group.estimate),
          width: barWidth,
          height: Math.max(0, bottom - y(group.estimate)),
          fill: group.color,
        }),
        h('line', { class: 'whisker', x1: centre, x2: centre, y1: y(group.lower), y2: y(group.upper) }),
        h('line', {
          class: 'whisker',
          x1: centre - 6,
          x2: centre + 6,
          y1: y(group.upper),
          y2: y(group.upper),
        }),
        h('line', {
          class: 'whisker',
          x1: centre - 6,
          x2: centre + 6,
          y1: y(group.lower),
          y2: y(group.lower),
        }),
        h('text', {
          class: 'value-label',
          x: centre,
          y: Math.max(12, y(group.upper) - 6),
          'text-anchor': 'middle',
          text: rate(group.estimate),
        }),
      )
    } else {
      g.append(
        h('text', { class: 'no-data', x: centre, y: bottom - 6, 'text-anchor': 'middle', text: 'no data' }),
      )
    }
    g.append(
      h('text', {
        class: 'group-label',
        x: centre,
        y: bottom + 18,
        'text-anchor': 'middle',
        text: group.key,
      }),
      h('text', {
        class: 'tick',
        x: centre,
        y: bottom + 34,
        'text-anchor': 'middle',
        text: `n ${integer.format(group.trials)}`,
      }),
    )
    svg.append(g)
  })
  svg.append(h('line', { class: 'axis', x1: left, x2: right, y1: bottom, y2: bottom }))
  return svg
}

/**
 * Value against target on a 0–100 % track: a bar and a target tick.
 * @param {number | null} ratio
 * @param {number | null} target
 */
function bullet(ratio, target) {
  const svg = h('svg', {
    class: 'bullet',
    viewBox: '0 0 100 10',
    preserveAspectRatio: 'none',
    'aria-hidden': 'true',
    focusable: 'false',
  })
  svg.append(h('rect', { class: 'track', x: 0, y: 2, width: 100, height: 6 }))
  if (ratio !== null && ratio !== undefined)
    svg.append(
      h('rect', { class: 'fill', x: 0, y: 2, width: Math.max(0, Math.min(1, ratio)) * 100, height: 6 }),
    )
  if (target !== null && target !== undefined)
    svg.append(h('line', { class: 'target-tick', x1: target * 100, x2: target * 100, y1: 0, y2: 10 }))
  return svg
}

// ---------- the views ----------

/**
 * @typedef {object} Settings the controls' values
 * @property {WindowKey} window
 * @property {RangeKey} range
 * @property {number} mde the minimum detectable effect, a fraction
 */

/**
 * @typedef {object} ViewDefinition
 * @property {string} title
 * @property {string} lead
 * @property {('window' | 'range' | 'mde')[]} controls
 * @property {(settings: Settings) => string[]} urls what the view reads
 * @property {(...responses: any[]) => Node} render draws the answers of `urls`, in their order
 */

/** @typedef {'index' | 'scorecards' | 'perception' | 'linkage' | 'experiments'} View */

/** @type {Record<View, ViewDefinition>} */
const VIEWS = {
  index: {
    title: 'Customer index',
    lead: 'One number every team shares: the weighted mean of the CPIs’ shares of good outcomes, 0–100, with its 95 % interval.',
    controls: ['window'],
    urls: (settings) => [
      `/v1/analytics/index?window=${settings.window}`,
      `/v1/cpis?window=${settings.window}`,
    ],
    render: renderIndex,
  },
  scorecards: {
    title: 'Team scorecards',
    lead: 'Per team, the CPIs it can move against their targets, with the indicators that lead and lag each one.',
    controls: ['window'],
    urls: (settings) => [`/v1/analytics/scorecards?window=${settings.window}`],
    render: renderScorecards,
  },
  perception: {
    title: 'Perception vs performance',
    lead: 'Do customers whose interaction met the CPI’s expectation rate it better than those whose did not?',
    controls: ['range'],
    urls: (settings) => [`/v1/analytics/perception?from=now-${settings.range}&to=now`],
    render: renderPerception,
  },
  linkage: {
    title: 'CPI → KPI linkage',
    lead: 'How a business outcome (KPI) differs between customers whose CPI outcome differed.',
    controls: ['range'],
    urls: (settings) => [`/v1/analytics/linkage?from=now-${settings.range}&to=now`, '/v1/cpis?window=1h'],
    render: renderLinkage,
  },
  experiments: {
    title: 'Experiments',
    lead: 'A/B tests on interactions: each arm’s CPI and KPI, the difference to the control and how far the planned sample size is.',
    controls: ['range', 'mde'],
    urls: (settings) => [`/v1/analytics/experiments?from=now-${settings.range}&to=now&mde=${settings.mde}`],
    render: renderExperiments,
  },
}

export const ANALYTICS_VIEWS = Object.keys(VIEWS)
/**
 * @param {string | null | undefined} view
 * @returns {view is View}
 */
export const isAnalyticsView = (view) => Object.hasOwn(VIEWS, view ?? '')

/**
 * The view shown: its settings, the read under way, the next refresh, the answers drawn (as
 * JSON) and what to undo before the next drawing.
 * @type {{
 *   view: View | null,
 *   settings: Settings | null,
 *   abort: AbortController | null,
 *   timer: ReturnType<typeof setTimeout> | null,
 *   rendered: string | null,
 *   cleanups: (() => void)[],
 * }}
 */
const current = {
  view: null,
  settings: null,
  abort: null,
  timer: null,
  rendered: null,
  cleanups: [],
}

/**
 * One of the object's own keys (not an inherited name such as `constructor`).
 * @template {object} T
 * @param {T} object
 * @param {string | null} key
 * @returns {key is keyof T & string}
 */
const isKeyOf = (object, key) => Object.hasOwn(object, key ?? '')

/**
 * The settings an address names; defaults for what it leaves out or gets wrong.
 * @param {URLSearchParams} params
 * @returns {Settings}
 */
function settingsOf(params) {
  const window = params.get('window')
  const range = params.get('range')
  const mde = Number(params.get('mde'))
  return {
    window: isKeyOf(WINDOWS, window) ? window : DEFAULT_WINDOW,
    range: isKeyOf(RANGES, range) ? range : DEFAULT_RANGE,
    mde: mde > 0 && mde < 1 ? mde : DEFAULT_MDE,
  }
}

/** Puts the view's settings in the address (those that are not the defaults). */
function writeSettings() {
  const { view, settings } = current
  // A control's late change (the debounced effect) after the view was left: nothing to write.
  if (!view || !settings) return
  const params = new URLSearchParams({ view })
  const uses = VIEWS[view].controls
  if (uses.includes('window') && settings.window !== DEFAULT_WINDOW) params.set('window', settings.window)
  if (uses.includes('range') && settings.range !== DEFAULT_RANGE) params.set('range', settings.range)
  if (uses.includes('mde') && settings.mde !== DEFAULT_MDE) params.set('mde', String(settings.mde))
  history.replaceState(null, '', `/?${params}`)
}

/**
 * A labelled select of `options` (value → text).
 * @template {string} K
 * @param {string} id
 * @param {string} label
 * @param {Record<K, string>} options
 * @param {K} value
 * @param {(value: K) => void} onChange
 */
function select(id, label, options, value, onChange) {
  return h(
    'label',
    { class: 'by' },
    h('span', { text: label }),
    h(
      'select',
      {
        id,
        onchange: (event) =>
          onChange(/** @type {K} */ (/** @type {HTMLSelectElement} */ (event.target).value)),
      },
      ...Object.entries(options).map(([key, text]) =>
        h('option', { value: key, text, selected: key === value }),
      ),
    ),
  )
}

/**
 * The view's controls, each changing `settings` (the view's own), the address and the answers.
 * @param {View} view
 * @param {Settings} settings
 */
function renderControls(view, settings) {
  /**
   * @template {'window' | 'range'} Key
   * @param {Key} key
   * @returns {(value: Settings[Key]) => void}
   */
  const changed = (key) => (value) => {
    settings[key] = value
    writeSettings()
    void load()
  }
  const controls = VIEWS[view].controls.map((control) => {
    if (control === 'window')
      return select(
        'analytics-window',
        'Window',
        /** @type {Record<WindowKey, string>} */ (
          Object.fromEntries(Object.entries(WINDOWS).map(([key, word]) => [key, `1 ${word} (${key})`]))
        ),
        settings.window,
        changed('window'),
      )
    if (control === 'range')
      return select('analytics-range', 'Interactions', RANGES, settings.range, changed('range'))
    // The minimum detectable effect in percentage points; the API takes it as a fraction.
    /** @type {ReturnType<typeof setTimeout> | null} */
    let debounce = null
    const input = h('input', {
      id: 'analytics-mde',
      type: 'number',
      min: '0.1',
      max: '50',
      step: '0.1',
      inputmode: 'decimal',
      value: String(Math.round(settings.mde * 1000) / 10),
      'aria-describedby': 'analytics-mde-help',
      oninput: () => {
        clearTimeout(debounce ?? undefined)
        debounce = setTimeout(apply, 400)
      },
      onchange: () => apply(),
    })
    const apply = () => {
      clearTimeout(debounce ?? undefined)
      const value = Number(input.value)
      if (!(value >= 0.1 && value <= 50) || Math.abs(value / 100 - settings.mde) < 1e-9) return
      settings.mde = Math.round(value * 10) / 1000
      writeSettings()
      void load()
    }
    return h(
      'label',
      { class: 'by mde' },
      h('span', { text: 'Minimum detectable effect (pt)' }),
      input,
      h('span', {
        id: 'analytics-mde-help',
        class: 'visually-hidden',
        text: 'The absolute change of a rate, in percentage points, the experiments are sized to detect. Changing it recomputes the planned sample sizes.',
      }),
    )
  })
  $('#analytics-controls').replaceChildren(...controls)
}

/**
 * Shows an analytics view (or, for any other view, stops the one shown).
 * @param {string | null} view
 * @param {URLSearchParams} params
 * @param {{ focus?: boolean }} [options]
 */
export function showAnalytics(view, params, { focus = false } = {}) {
  if (!isAnalyticsView(view)) {
    stopAnalytics()
    return
  }
  const settings = settingsOf(params)
  const same = current.view === view && JSON.stringify(current.settings) === JSON.stringify(settings)
  if (!same) {
    stopAnalytics()
    current.view = view
    current.settings = settings
    const definition = VIEWS[view]
    $('#analytics-heading').textContent = definition.title
    $('#analytics-lead').textContent = definition.lead
    $('#analytics').dataset.view = view
    renderControls(view, settings)
    $('#analytics-body').replaceChildren(h('p', { class: 'muted placeholder', text: 'Loading…' }))
    void load()
  }
  if (focus) $('#analytics-heading').focus()
}

export function stopAnalytics() {
  current.abort?.abort()
  clearTimeout(current.timer ?? undefined)
  current.timer = null
  current.view = null
  current.settings = null
  current.rendered = null
  cleanup()
}

function cleanup() {
  for (const done of current.cleanups.splice(0)) done()
}

/**
 * Reads the view's answers and draws them when they changed; again every REFRESH_MS.
 * @param {{ quiet?: boolean }} [options] quiet: no "Loading…" (a refresh)
 */
async function load({ quiet = false } = {}) {
  const { view, settings } = current
  // The settings are set and cleared with the view.
  if (!view || !settings) return
  current.abort?.abort()
  clearTimeout(current.timer ?? undefined)
  const abort = new AbortController()
  current.abort = abort
  const status = $('#analytics-status')
  if (!quiet) status.textContent = 'Loading…'
  const body = $('#analytics-body')
  const urls = VIEWS[view].urls(settings)
  try {
    const responses = await Promise.all(urls.map((url) => getJson(url, abort.signal)))
    if (abort.signal.aborted || current.view !== view) return
    const key = JSON.stringify(responses)
    if (key !== current.rendered) {
      // Keep keyboard focus on the same control across a refresh.
      const active = /** @type {HTMLElement | null} */ (document.activeElement)
      const focused = body.contains(active) ? active?.dataset.key : undefined
      cleanup()
      body.replaceChildren(VIEWS[view].render(...responses, current.settings))
      current.rendered = key
      if (focused) {
        /** @type {HTMLElement | null} */
        const again = body.querySelector(`[data-key="${CSS.escape(focused)}"]`)
        again?.focus()
      }
    }
    const first = /** @type {{ asOf?: string, to?: string }} */ (responses[0])
    const asOf = first.asOf ?? first.to
    status.textContent = `${asOf ? `As of ${clock(asOf)}. ` : ''}Updated ${clock(new Date().toISOString())}; refreshes every ${REFRESH_MS / 1000} s.`
  } catch (caught) {
    if (abort.signal.aborted) return
    const error = /** @type {Error} */ (caught)
    status.textContent = `Could not load: ${error.message}`
    if (!current.rendered) {
      body.replaceChildren(
        h(
          'div',
          { class: 'callout error', role: 'alert' },
          h('strong', { text: `The ${VIEWS[view].title.toLowerCase()} could not be loaded.` }),
          h('p', { text: `The API answered: ${error.message}` }),
        ),
      )
    }
  }
  if (current.view === view && current.abort === abort)
    current.timer = setTimeout(() => void load({ quiet: true }), REFRESH_MS)
}

// ---------- customer index ----------

/**
 * The index's status against its target: on it, below it but within the interval, below it.
 * @param {number | null} value
 * @param {number | null} upper
 * @param {number | null} target
 * @returns {{ health: Health, text: string }}
 */
function indexStatus(value, upper, target) {
  if (value === null || target === null) return { health: 'no_data', text: 'No data yet' }
  if (value >= target) return { health: 'ok', text: 'On target' }
  if (upper !== null && upper >= target)
    return { health: 'at_risk', text: 'Below target, within the interval' }
  return { health: 'breached', text: 'Below target' }
}

/** @typedef {IndexResponse['current']['components'][number]} IndexComponent */

/**
 * The customer index view: the latest window's value against its target, the value per window
 * (uPlot) and what makes up the index.
 * @param {IndexResponse} index
 * @param {CatalogResponse} summaries
 */
function renderIndex(index, summaries) {
  const names = new Map((summaries.cpis ?? []).map((cpi) => [cpi.name, cpi]))
  const fragment = document.createDocumentFragment()
  fragment.append(
    indexHeadline(index),
    indexSeriesSection(index),
    indexComponentsSection(index.current, (cpi) => names.get(cpi)?.displayName ?? cpi),
  )
  return fragment
}

/**
 * The latest window's index: its value, interval and target, its status and the weight covered.
 * @param {IndexResponse} index
 */
function indexHeadline(index) {
  const { value, lower, upper, target, coverage } = index.current
  const status = indexStatus(value, upper, target)
  const shown = HEALTH[status.health]
  return h(
    'div',
    { class: 'index-headline card' },
    h(
      'p',
      { class: 'index-number' },
      h('span', { class: 'index-value', text: points(value) }),
      h('span', { class: 'index-scale', text: ' / 100' }),
    ),
    h(
      'div',
      { class: 'index-figures' },
      h(
        'p',
        { class: 'index-interval' },
        value === null
          ? 'No interactions in the latest window.'
          : `95 % interval ${points(lower)} – ${points(upper)}`,
      ),
      h('p', { class: 'index-target' }, `Target ${points(target)}`),
      h(
        'p',
        {},
        h(
          'span',
          { class: 'badge health', 'data-health': status.health },
          h('span', { class: 'icon', 'aria-hidden': 'true', text: shown.icon }),
          h('span', { class: 'label', text: status.text }),
        ),
      ),
      h(
        'p',
        { class: 'muted small' },
        `Latest ${index.window} window to ${clock(index.asOf)}; ${percent(coverage, 0)} of the weight has data.`,
      ),
    ),
  )
}

/**
 * The index per window: a uPlot chart (drawn once the section is in the page) for the eye, the
 * figure's label and a visually hidden list with the figures.
 * @param {IndexResponse} index
 */
function indexSeriesSection(index) {
  const { target } = index.current
  const series = index.series ?? []
  const withData = series.filter((point) => point.value !== null)
  // The canvas is for the eye; the figure's label and a (visually hidden) list carry the figures.
  const chartBox = h('div', { class: 'chart index-chart', 'aria-hidden': 'true' })
  const caption = h(
    'figcaption',
    { class: 'muted small' },
    withData.length
      ? `The index per ${index.window} window (${withData.length} of ${series.length} windows have data). Whiskers: 95 % interval; dashed line: each window’s target (the weighted targets of the CPIs with data).`
      : 'No window has data yet.',
  )
  const values = h(
    'ul',
    { class: 'visually-hidden' },
    ...withData.map((point) =>
      h('li', {
        text: `Window from ${point.windowStart.slice(0, 16).replace('T', ' ')} UTC: ${points(point.value)} (${points(point.lower)} – ${points(point.upper)})`,
      }),
    ),
  )
  queueMicrotask(() => drawIndexChart(chartBox, series, target))
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'index-series-heading' },
    h('h3', { id: 'index-series-heading', text: `Last ${series.length} windows` }),
    h(
      'figure',
      {
        class: 'chart-figure index-figure',
        'aria-label': `Customer index per ${index.window} window, ${series.length} windows, ${withData.length} with data; dashed: the target ${points(target)}; whiskers: 95 % intervals.`,
      },
      chartBox,
      values,
      caption,
    ),
  )
}

/**
 * What makes up the index: blocks as wide as the CPIs' weights, filled by their ratios, the
 * index's target over them, and a legend with each CPI's figures.
 * @param {IndexResponse['current']} current
 * @param {(cpi: string) => string} nameOf
 */
function indexComponentsSection({ target, components }, nameOf) {
  const present = components.filter((component) => component.share > 0)
  const missing = components.filter((component) => component.share === 0 && component.weight > 0)
  const colour = new Map(
    components.map((component, position) => [component.cpi, PALETTE[position % PALETTE.length]]),
  )
  const targetMark = h('span', { class: 'index-bar-target', text: `target ${points(target)}` })
  if (target !== null) targetMark.style.left = `${target}%`
  else targetMark.hidden = true
  const summary = present
    .map(
      (component) =>
        `${nameOf(component.cpi)} ${points(component.contribution)} of ${points(component.share * 100)}`,
    )
    .join(', ')
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'index-components-heading' },
    h('h3', { id: 'index-components-heading', text: 'What makes up the index' }),
    h(
      'p',
      { class: 'muted small' },
      'Each CPI’s block is as wide as its weight; the solid part is the points it earns (weight share × its ratio), the pale part the points it misses.',
    ),
    h(
      'figure',
      { class: 'index-bar-figure' },
      h(
        'div',
        {
          class: 'index-bar-wrap',
          role: 'img',
          'aria-label': `Index points earned of possible, per CPI: ${summary}.`,
        },
        componentsBar(present, colour),
        targetMark,
      ),
      h(
        'div',
        { class: 'index-bar-scale', 'aria-hidden': 'true' },
        h('span', { text: '0' }),
        h('span', { text: '50' }),
        h('span', { text: '100' }),
      ),
      h('figcaption', { class: 'visually-hidden', text: 'Index components' }),
    ),
    componentsLegend(present, missing, colour, nameOf),
  )
}

/**
 * The components side by side on a 0–100 bar: each block as wide as its share of the weight,
 * the part it earns solid and the part it misses pale.
 * @param {IndexComponent[]} present the components with data
 * @param {Map<string, string | undefined>} colour by CPI
 */
function componentsBar(present, colour) {
  const bar = h('svg', {
    class: 'index-bar',
    viewBox: '0 0 100 10',
    preserveAspectRatio: 'none',
    'aria-hidden': 'true',
    focusable: 'false',
  })
  let at = 0
  for (const component of present) {
    const width = component.share * 100
    const filled = width * (component.ratio ?? 0)
    bar.append(
      h('rect', { class: 'earned', x: at, y: 0, width: filled, height: 10, fill: colour.get(component.cpi) }),
      h('rect', {
        class: 'lost',
        x: at + filled,
        y: 0,
        width: width - filled,
        height: 10,
        fill: colour.get(component.cpi),
      }),
      h('line', { class: 'divider', x1: at + width, x2: at + width, y1: 0, y2: 10 }),
    )
    at += width
  }
  return bar
}

/**
 * The legend: per component with data its weight, ratio and the points it adds; the ones
 * without data, left out of the index, after them.
 * @param {IndexComponent[]} present
 * @param {IndexComponent[]} missing
 * @param {Map<string, string | undefined>} colour by CPI
 * @param {(cpi: string) => string} nameOf
 */
function componentsLegend(present, missing, colour, nameOf) {
  const legend = h(
    'ul',
    { class: 'index-legend' },
    ...present.map((component) =>
      h(
        'li',
        { 'data-cpi': component.cpi },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        h('span', { class: 'legend-name', text: nameOf(component.cpi) }),
        h(
          'span',
          { class: 'legend-figures' },
          `weight ${component.weight} (${percent(component.share, 0)}) · ${percent(component.ratio)} of ${integer.format(component.total)} → `,
          h('strong', { class: 'contribution', text: points(component.contribution) }),
          ' pts',
        ),
      ),
    ),
    ...missing.map((component) =>
      h(
        'li',
        { 'data-cpi': component.cpi, class: 'missing' },
        h('span', { class: 'swatch', 'aria-hidden': 'true' }),
        h('span', { class: 'legend-name', text: nameOf(component.cpi) }),
        h('span', { class: 'legend-figures', text: `weight ${component.weight} · no data, left out` }),
      ),
    ),
  )
  for (const item of legend.querySelectorAll('li')) {
    const swatch = /** @type {HTMLElement} */ (item.querySelector('.swatch'))
    swatch.style.background = /** @type {string} */ (colour.get(item.dataset.cpi ?? ''))
  }
  return legend
}

/**
 * A uPlot draw hook that draws the 95 % intervals as whiskers: they show on a lone window too,
 * where a band would not.
 * @param {number[]} times
 * @param {(number | null)[]} lowers
 * @param {(number | null)[]} uppers
 * @returns {(u: uPlot) => void}
 */
function whiskersHook(times, lowers, uppers) {
  return (u) => {
    const { ctx } = u
    ctx.save()
    ctx.setLineDash([])
    ctx.strokeStyle = PALETTE[0]
    ctx.lineWidth = Math.max(1, devicePixelRatio)
    const cap = 4 * devicePixelRatio
    for (let i = 0; i < times.length; i++) {
      // The three arrays are as long as the series.
      const lower = /** @type {number | null} */ (lowers[i])
      const upper = /** @type {number | null} */ (uppers[i])
      if (lower === null || upper === null) continue
      const x = u.valToPos(/** @type {number} */ (times[i]), 'x', true)
      const y1 = u.valToPos(lower, 'y', true)
      const y2 = u.valToPos(upper, 'y', true)
      ctx.beginPath()
      ctx.moveTo(x, y1)
      ctx.lineTo(x, y2)
      ctx.moveTo(x - cap, y1)
      ctx.lineTo(x + cap, y1)
      ctx.moveTo(x - cap, y2)
      ctx.lineTo(x + cap, y2)
      ctx.stroke()
    }
    ctx.restore()
  }
}

/**
 * The index per window on a uPlot chart in `container` (once it is in the page), with the
 * intervals as whiskers and each window's target; it follows the container's width.
 * @param {HTMLElement} container
 * @param {IndexWindow[]} series
 * @param {number | null} target
 */
function drawIndexChart(container, series, target) {
  if (!container.isConnected || !globalThis.uPlot) return
  const times = series.map((point) => Date.parse(point.windowStart) / 1000)
  if (!times.length) return
  const first = /** @type {number} */ (times[0])
  const last = /** @type {number} */ (times[times.length - 1])
  // Half a window: from the first two, half a day for a lone one.
  const second = times[1]
  const half = second === undefined ? 43_200 : (second - first) / 2
  const values = series.map((point) => point.value)
  const lowers = series.map((point) => point.lower)
  const uppers = series.map((point) => point.upper)
  const known = [...lowers, ...uppers, target, ...series.map((point) => point.target)].filter(
    (value) => value !== null && value !== undefined,
  )
  const low = known.length ? Math.max(0, Math.floor(Math.min(...known) / 5) * 5 - 5) : 0
  const high = known.length ? Math.min(100, Math.ceil(Math.max(...known) / 5) * 5 + 5) : 100
  const size = () => {
    const width = Math.max(240, container.clientWidth)
    return { width, height: Math.min(300, Math.max(200, Math.round(width * 0.4))) }
  }
  /** @type {(u: uPlot, value: number | null) => string} */
  const format = (_u, value) => (value === null || value === undefined ? '—' : points(value))
  const whiskers = whiskersHook(times, lowers, uppers)
  /** @type {uPlot.Options} */
  const options = {
    ...size(),
    series: [
      {},
      {
        label: 'Index',
        stroke: PALETTE[0],
        width: 2,
        spanGaps: false,
        points: { show: true, size: 7 },
        // uPlot gives no index (null) only with no value.
        value: (_u, value, _series, i) =>
          value === null || value === undefined
            ? '—'
            : `${points(value)} (${points(lowers[/** @type {number} */ (i)])} – ${points(uppers[/** @type {number} */ (i)])})`,
      },
      {
        label: 'Target',
        stroke: '#4f5761',
        width: 1.5,
        dash: [6, 4],
        points: { show: false },
        value: format,
      },
    ],
    // Half a window of room at either end, so the first and the latest point are not cut in half.
    scales: {
      x: { time: true, range: [first - half, last + half] },
      y: { range: [low, high] },
    },
    axes: [{}, { size: 44 }],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
    hooks: { draw: [whiskers] },
  }
  // Each window's own target (it moves with the CPIs that had data); the latest one's before any.
  /** @type {uPlot.AlignedData} */
  const data = [
    times,
    values,
    series.map((point) => (point.value === null ? null : (point.target ?? target))),
  ]
  const chart = new globalThis.uPlot(options, data, container)
  const observer = new ResizeObserver(() => {
    const next = size()
    if (Math.abs(next.width - chart.width) > 2) chart.setSize(next)
  })
  observer.observe(container)
  current.cleanups.push(() => {
    observer.disconnect()
    chart.destroy()
  })
}

// ---------- team scorecards ----------

/**
 * A leading or lagging indicator: its value and health.
 * @param {ScorecardBrief} indicator
 */
function chip(indicator) {
  const shown = HEALTH[indicator.health] ?? HEALTH.no_data
  return h(
    'li',
    {
      class: 'chip',
      'data-cpi': indicator.name,
      'data-health': indicator.health,
      title: indicator.target === null ? undefined : `target ${targetPercent(indicator.target)}`,
    },
    h('span', { class: 'chip-name', text: indicator.displayName }),
    h('span', { class: 'chip-value', text: percent(indicator.ratio) }),
    h(
      'span',
      { class: 'chip-health' },
      h('span', { 'aria-hidden': 'true', text: shown.icon }),
      ` ${shown.label}`,
    ),
  )
}

/**
 * @param {'leading' | 'lagging'} kind
 * @param {ScorecardBrief[]} list
 * @param {string} cpiName
 */
function indicators(kind, list, cpiName) {
  const id = `${kind}-${cpiName}`
  return h(
    'div',
    { class: `indicators-list ${kind}` },
    h(
      'h5',
      { id },
      kind === 'leading' ? h('span', { 'aria-hidden': 'true', text: '← ' }) : null,
      kind === 'leading' ? 'Leading' : 'Lagging',
      kind === 'lagging' ? h('span', { 'aria-hidden': 'true', text: ' →' }) : null,
    ),
    list.length
      ? h('ul', { class: 'chips', 'aria-labelledby': id }, ...list.map(chip))
      : h('p', { class: 'muted small', text: 'none' }),
  )
}

/** @param {number | null | undefined} trend */
function trendText(trend) {
  if (trend === null || trend === undefined) return 'no trend yet'
  const value = trend * 100
  const arrow = value >= 0.05 ? '▲' : value <= -0.05 ? '▼' : '▶'
  return `${arrow} ${signed(value, 1)} pt`
}

/**
 * The team scorecards view: per team, its CPIs against their targets with their indicators.
 * @param {ScorecardsResponse} response
 */
function renderScorecards(response) {
  const grid = h('div', { class: 'scorecards' })
  const index = response.index
  grid.append(
    h(
      'p',
      { class: 'scorecards-index' },
      'Customer index ',
      h('strong', { text: points(index.value) }),
      ` (target ${points(index.target)}) over the latest ${response.window}; each team’s CPIs earn the points below.`,
    ),
  )
  for (const team of response.teams) {
    const summary = Object.entries(team.health)
      .filter(([, count]) => count > 0)
      .map(([health, count]) => `${count} ${HEALTH_WORDS[health] ?? health}`)
      .join(' · ')
    const card = h(
      'article',
      { class: 'card scorecard', 'data-team': team.team, 'aria-labelledby': `team-${team.team}` },
      h(
        'div',
        { class: 'scorecard-head' },
        h('h3', { id: `team-${team.team}`, text: team.team }),
        h(
          'p',
          { class: 'team-points' },
          h('strong', { class: 'index-points', text: points(team.indexPoints) }),
          ' index points',
        ),
        h('p', { class: 'muted small team-health', text: summary || 'no CPIs' }),
      ),
    )
    for (const cpi of team.cpis) {
      const health = HEALTH[cpi.health] ?? HEALTH.no_data
      card.append(
        h(
          'section',
          { class: 'score-cpi', 'data-cpi': cpi.name, 'data-health': cpi.health },
          h(
            'div',
            { class: 'score-main' },
            h(
              'h4',
              {},
              h('a', {
                href: `/?cpi=${encodeURIComponent(cpi.name)}`,
                'data-key': `cpi-${cpi.name}`,
                title: 'Open the drill-down',
                text: cpi.displayName,
              }),
            ),
            h(
              'p',
              { class: 'score-figures' },
              h('span', { class: 'value', text: percent(cpi.ratio) }),
              h('span', {
                class: 'target',
                text: `target ${cpi.target === null ? '—' : targetPercent(cpi.target)}`,
              }),
              healthBadge(cpi.health),
            ),
            bullet(cpi.ratio, cpi.target),
            h(
              'p',
              { class: 'score-meta' },
              h('span', { text: `weight ${cpi.indexWeight} · ${points(cpi.indexPoints)} index pts` }),
              h('span', { text: trendText(cpi.trend) }),
              h('span', { text: `${integer.format(cpi.good)} / ${integer.format(cpi.total)} good` }),
              h('span', { text: `${integer.format(cpi.pending)} pending` }),
              cpi.firingAlerts
                ? h('span', { class: 'firing', text: `${plural(cpi.firingAlerts, 'alert')} firing` })
                : null,
            ),
            h('span', { class: 'visually-hidden', text: `Status: ${health.label}.` }),
          ),
          indicators('leading', cpi.leading, cpi.name),
          indicators('lagging', cpi.lagging, cpi.name),
        ),
      )
    }
    grid.append(card)
  }
  return grid
}

// ---------- perception vs performance ----------

/**
 * @param {Difference | null} gap
 * @param {Unit} unit
 */
function differenceText(gap, unit, alpha = 0.05) {
  if (!gap) return 'too few responses to compare'
  const verdict = gap.pValue < alpha ? 'significant' : 'not significant'
  return `${withInterval(gap.difference, gap.interval, unit)}, ${pValue(gap.pValue)}, ${verdict}`
}

/**
 * The perception view: per CPI, the survey scores of the interactions that met its expectation
 * against those that missed it.
 * @param {PerceptionResponse} response
 */
function renderPerception(response) {
  const fragment = document.createDocumentFragment()
  fragment.append(h('p', { class: 'callout note', text: response.note }))
  const grid = h('div', { class: 'cards-grid' })
  for (const entry of response.cpis) {
    const { met, missed, gap } = entry
    const id = `perception-${entry.cpi}`
    /**
     * @param {string} word
     * @param {PerceptionEntry['met']} group
     */
    const csatLine = (word, group) =>
      group.csat.estimate === null
        ? `${word}: no CSAT responses`
        : `${word}: ${percent(group.csat.estimate)} (${percent(group.csat.lower)} – ${percent(group.csat.upper)}), ${group.csat.satisfied} of ${plural(group.csat.responses, 'response')}`
    const rows = [
      { key: 'met', color: MET, ...met.csat, text: csatLine('met', met) },
      { key: 'missed', color: MISSED, ...missed.csat, text: csatLine('missed', missed) },
    ]
    const chart = intervalChart(rows, {
      label: `CSAT top-two-box with 95 % intervals. ${rows.map((row) => row.text).join('. ')}.`,
    })
    const rateGap = entry.responseRateGap
    const unrepresentative = rateGap !== null && rateGap.pValue < 0.05
    const npsOf = (/** @type {PerceptionEntry['met']} */ group) =>
      group.nps.score === null ? '—' : signed(group.nps.score, 0)
    const cesOf = (/** @type {PerceptionEntry['met']} */ group) =>
      group.ces.mean === null ? '—' : group.ces.mean.toFixed(2)
    grid.append(
      h(
        'article',
        { class: 'card perception', 'data-cpi': entry.cpi, 'aria-labelledby': id },
        h(
          'h3',
          { id },
          entry.displayName,
          h('span', { class: 'muted subject', text: ` · ${pluralWord(entry.subjectType)}` }),
        ),
        h(
          'figure',
          { class: 'chart-figure' },
          chart,
          h('figcaption', { class: 'muted small', text: 'CSAT: share answering 4–5 of 5; 95 % intervals.' }),
        ),
        h(
          'p',
          { class: 'gap csat-gap', 'data-significant': String(gap.csat !== null && gap.csat.pValue < 0.05) },
          h('strong', { text: 'CSAT gap ' }),
          differenceText(gap.csat, 'pt'),
        ),
        h(
          'dl',
          { class: 'compact' },
          h('dt', { text: 'NPS' }),
          h(
            'dd',
            { class: 'nps-gap' },
            `met ${npsOf(met)} · missed ${npsOf(missed)} · gap ${differenceText(gap.nps, 'points')}`,
          ),
          h('dt', { text: 'CES' }),
          h(
            'dd',
            { class: 'ces-gap' },
            `met ${cesOf(met)} · missed ${cesOf(missed)} (1–7, lower is easier) · gap ${differenceText(gap.ces, '')}`,
          ),
          h('dt', { text: 'Response rate' }),
          h(
            'dd',
            { class: 'response-rates' },
            `met ${rate(met.responseRate.estimate)} (${integer.format(met.responses)} of ${integer.format(met.interactions)}) · missed ${rate(missed.responseRate.estimate)} (${integer.format(missed.responses)} of ${integer.format(missed.interactions)})`,
          ),
        ),
        unrepresentative
          ? h(
              'p',
              { class: 'callout warning response-warning', role: 'note' },
              h('span', { 'aria-hidden': 'true', text: '⚠ ' }),
              h('strong', { text: 'Respondents may not be representative: ' }),
              `the response rates differ by ${pointsDiff(rateGap.difference)} (${pValue(rateGap.pValue)}); read the gaps with that in mind.`,
            )
          : null,
      ),
    )
  }
  fragment.append(grid)
  return fragment
}

// ---------- CPI → KPI linkage ----------

/**
 * The linkage view: per link, a KPI's rate per CPI group, and each group against the first.
 * @param {LinkageResponse} response
 * @param {CatalogResponse} summaries
 */
function renderLinkage(response, summaries) {
  const names = new Map((summaries.cpis ?? []).map((cpi) => [cpi.name, cpi.displayName || cpi.name]))
  const fragment = document.createDocumentFragment()
  fragment.append(
    h(
      'div',
      { class: 'callout observational', role: 'note' },
      h('span', { 'aria-hidden': 'true', text: '⚠ ' }),
      h('strong', { class: 'observational-label', text: 'Association, not causation. ' }),
      h('span', { class: 'note-text', text: response.note }),
    ),
  )
  const grid = h('div', { class: 'cards-grid' })
  for (const link of response.links) {
    const id = `link-${link.name}`
    const total = link.groups.reduce((sum, group) => sum + group.trials, 0)
    const complete = link.groups.every((group) => group.followUpComplete === null)
      ? null
      : link.groups.reduce((sum, group) => sum + (group.followUpComplete ?? 0), 0)
    const followUp = /90 days/.test(link.kpi) ? '90-day follow-up' : 'Follow-up'
    const groups = link.groups.map((group, position) => ({
      key: group.group,
      trials: group.trials,
      estimate: group.rate.estimate,
      lower: group.rate.lower,
      upper: group.rate.upper,
      color: position === 0 ? PALETTE[0] : '#5b8bd9',
    }))
    const described = link.groups
      .map((group) =>
        group.rate.estimate === null
          ? `${group.group}: no interactions`
          : `${group.group}: ${rate(group.rate.estimate)} (${rate(group.rate.lower)} – ${rate(group.rate.upper)}) of ${integer.format(group.trials)}`,
      )
      .join('; ')
    grid.append(
      h(
        'article',
        { class: 'card link', 'data-link': link.name, 'data-cpi': link.cpi, 'aria-labelledby': id },
        h(
          'div',
          { class: 'link-head' },
          h('h3', { id }, `${names.get(link.cpi) ?? link.cpi} → ${link.kpi}`),
          h('span', { class: 'badge observational-badge', text: 'Observational' }),
        ),
        h(
          'p',
          { class: 'muted small' },
          `${link.kpi.charAt(0).toUpperCase()}${link.kpi.slice(1)}: rate by ${link.groupedBy} (${link.higherIsBetter ? 'higher' : 'lower'} is better), with 95 % Wilson intervals.`,
        ),
        h(
          'figure',
          { class: 'chart-figure' },
          barChart(groups, { label: `${link.kpi} by ${link.groupedBy}: ${described}.` }),
        ),
        h(
          'p',
          { class: 'follow-up' },
          complete === null
            ? `${followUp}: not tracked.`
            : `${followUp} complete for ${integer.format(complete)} of ${integer.format(total)}${complete < total ? '; the others may still change the rate.' : '.'}`,
        ),
        link.comparisons.length
          ? h(
              'ul',
              { class: 'comparisons' },
              ...link.comparisons.map((comparison) =>
                h(
                  'li',
                  { 'data-group': comparison.group },
                  h('strong', { text: `${comparison.group} vs ${comparison.versus}: ` }),
                  differenceText(comparison, 'pt'),
                ),
              ),
            )
          : h('p', { class: 'muted small', text: 'Not enough interactions in two groups to compare yet.' }),
      ),
    )
  }
  fragment.append(grid)
  return fragment
}

// ---------- experiments ----------

/**
 * The decision in words, as the fixed-horizon rule has it.
 * @param {MetricComparison} comparison
 * @param {number} alpha
 */
export function decisionText(comparison, alpha) {
  if (comparison.decision === 'collecting') {
    if (comparison.requiredPerArm === null)
      return 'Collecting: the sample size cannot be planned (the control’s rate is 0 or 1)'
    // Planned, so remainingPerArm is known too.
    return `Collecting: ${integer.format(comparison.remainingPerArm ?? 0)} more per arm before reading the p-value`
  }
  // The decision rests on the first planned interactions of each arm (atHorizon), when known.
  const decisive = comparison.atHorizon ?? comparison
  const basis = comparison.atHorizon
    ? `, on the first ${integer.format(comparison.atHorizon.perArm)} per arm`
    : ''
  if (comparison.decision === 'significant')
    return `Significant: ${comparison.variant} differs from ${comparison.versus} (${pValue(decisive.pValue)} < α ${alpha}${basis})`
  return `Not significant: no difference shown at the planned size (${pValue(decisive.pValue)} ≥ α ${alpha}${basis})`
}

/**
 * One metric's rate per arm with its interval; null when no arm has the metric.
 * @param {ExperimentArm[]} arms
 * @param {'cpi' | 'kpi'} metric
 * @param {string} title
 * @param {number} alpha
 */
function armsChart(arms, metric, title, alpha) {
  const present = arms.filter((arm) => arm[metric])
  if (!present.length) return null
  const rows = present.map((arm, position) => {
    const counts = /** @type {ArmMetric} */ (arm[metric])
    return {
      key: arm.variant,
      color: ARM_COLOURS[position % ARM_COLOURS.length],
      estimate: counts.rate.estimate,
      lower: counts.rate.lower,
      upper: counts.rate.upper,
      text:
        counts.rate.estimate === null
          ? `${arm.variant}: no interactions`
          : `${arm.variant}: ${rate(counts.rate.estimate)} (${rate(counts.rate.lower)} – ${rate(counts.rate.upper)}), ${integer.format(counts.successes)} of ${integer.format(counts.trials)}`,
    }
  })
  return h(
    'figure',
    { class: 'chart-figure arms', 'data-metric': metric },
    h('figcaption', { class: 'small' }, h('strong', { text: title })),
    intervalChart(rows, {
      axis: axisOf(Math.max(0, ...rows.filter((row) => row.estimate !== null).map((row) => row.upper))),
      bars: true,
      label: `${title} by arm with ${confidenceOf(alpha)} intervals: ${rows.map((row) => row.text).join('; ')}.`,
    }),
  )
}

/**
 * An arm against the control: the difference, the p-value (once it may be read), the sample
 * toward the planned size and the decision.
 * @param {MetricComparison} comparison
 * @param {ExperimentCpi} entry
 * @param {number} alpha
 */
function comparisonBlock(comparison, entry, alpha) {
  const metricName = comparison.metric === 'cpi' ? entry.displayName : entry.kpi
  const required = comparison.requiredPerArm
  // The smaller of the two arms: the one the horizon waits for.
  const trials = (/** @type {string} */ variant) =>
    entry.arms.find((arm) => arm.variant === variant)?.[comparison.metric]?.trials ?? 0
  const reached = Math.min(trials(comparison.variant), trials(comparison.versus))
  const share = required ? Math.min(1, reached / required) : 0
  const fill = h('span', { class: 'progress-fill' })
  fill.style.width = `${(share * 100).toFixed(1)}%`
  const decision = DECISIONS[comparison.decision] ?? DECISIONS.collecting
  return h(
    'li',
    {
      class: 'comparison',
      'data-metric': comparison.metric,
      'data-variant': comparison.variant,
      'data-decision': comparison.decision,
    },
    h(
      'p',
      { class: 'comparison-head' },
      h('strong', { text: `${metricName}: ${comparison.variant} − ${comparison.versus} ` }),
      h(
        'span',
        { class: 'difference' },
        withInterval(comparison.difference, comparison.interval, 'pt', confidenceOf(alpha)),
      ),
      ', ',
      h('span', {
        class: comparison.horizonReached ? 'p-value' : 'p-value unread',
        text: comparison.horizonReached
          ? pValue(comparison.pValue)
          : `${pValue(comparison.pValue)} (not to be read yet)`,
      }),
    ),
    h(
      'div',
      { class: 'progress-row' },
      h(
        'span',
        {
          class: 'progress',
          role: 'progressbar',
          'aria-label': `${metricName}: sample per arm toward the planned size`,
          'aria-valuemin': 0,
          'aria-valuemax': required ?? 0,
          'aria-valuenow': Math.min(reached, required ?? 0),
          'aria-valuetext':
            required === null
              ? 'not planned'
              : `${integer.format(reached)} of ${integer.format(required)} per arm`,
        },
        fill,
      ),
      h(
        'span',
        { class: 'progress-text small' },
        required === null
          ? `${integer.format(reached)} per arm; planned size: —`
          : `${integer.format(reached)} of ${integer.format(required)} per arm${comparison.horizonReached ? ', horizon reached' : ` (${percent(share, 0)})`}`,
      ),
    ),
    h(
      'p',
      { class: 'decision', 'data-decision': comparison.decision },
      h('span', { 'aria-hidden': 'true', text: `${decision.icon} ` }),
      h('span', { class: 'decision-text', text: decisionText(comparison, alpha) }),
    ),
  )
}

/**
 * The experiments view: the design, then per experiment and CPI its arms and comparisons.
 * @param {ExperimentsResponse} response
 */
function renderExperiments(response) {
  const { design } = response
  const fragment = document.createDocumentFragment()
  fragment.append(
    h(
      'div',
      { class: 'callout note design' },
      h(
        'p',
        {},
        h('strong', { text: 'Fixed-horizon design: ' }),
        `minimum detectable effect ${pointsDiff(design.minimumDetectableEffect).replace('+', '')}, α ${design.alpha}, power ${percent(design.power, 0)}.`,
      ),
      h('p', { class: 'rule', text: design.rule }),
    ),
  )
  if (!response.experiments.length) {
    fragment.append(h('p', { class: 'muted', text: 'No experiment seen in this range.' }))
    return fragment
  }
  for (const experiment of response.experiments) {
    const id = `experiment-${experiment.id}`
    const section = h(
      'section',
      { class: 'experiment', 'data-experiment': experiment.id, 'aria-labelledby': id },
      h('h3', { id, text: experiment.id }),
      h('p', {
        class: 'muted small design-source',
        'data-source': experiment.designSource,
        text:
          experiment.designSource === 'registered'
            ? `Registered design: minimum detectable effect ${pointsDiff(experiment.cpis[0]?.design.minimumDetectableEffect ?? 0).replace('+', '')}, α ${experiment.cpis[0]?.design.alpha}, power ${percent(experiment.cpis[0]?.design.power ?? 0, 0)}${experiment.description ? ` — ${experiment.description}` : ''}.`
            : 'Not registered: sized with the design on this page. Fix the design before the experiment starts (CPI_EXPERIMENTS_FILE), or a later change of it is a new look at the data.',
      }),
      experiment.conflictingAssignments > 0
        ? h('p', {
            class: 'callout warn small',
            text: `${integer.format(experiment.conflictingAssignments)} interactions carried more than one arm; each counts in its first.`,
          })
        : null,
    )
    for (const entry of experiment.cpis) {
      const alpha = entry.design.alpha
      const headingId = `${id}-${entry.cpi}`
      section.append(
        h(
          'article',
          { class: 'card experiment-cpi', 'data-cpi': entry.cpi, 'aria-labelledby': headingId },
          h(
            'h4',
            { id: headingId },
            entry.displayName,
            h('span', { class: 'muted', text: entry.kpi ? ` · KPI: ${entry.kpi}` : '' }),
          ),
          h(
            'p',
            { class: 'muted small arms-list' },
            `Arms: ${entry.arms.map((arm) => `${arm.variant}${arm.variant === entry.control ? ' (control)' : ''} n ${integer.format(arm.cpi.trials)}`).join(' · ')}`,
          ),
          h(
            'div',
            { class: 'arms-charts' },
            armsChart(entry.arms, 'cpi', `CPI: ${entry.displayName}`, alpha),
            entry.kpi ? armsChart(entry.arms, 'kpi', `KPI: ${entry.kpi}`, alpha) : null,
          ),
          entry.comparisons.length
            ? h(
                'ul',
                { class: 'comparisons' },
                ...entry.comparisons.map((c) => comparisonBlock(c, entry, alpha)),
              )
            : h('p', { class: 'muted small', text: 'Not enough interactions in two arms to compare yet.' }),
        ),
      )
    }
    fragment.append(section)
  }
  return fragment
}
