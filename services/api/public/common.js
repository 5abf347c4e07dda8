// What the live view (app.js) and the analytics views (analytics.js) share: the read token and
// fetching, element creation, number formatting and the SVG sparkline. Plain DOM, no build step;
// type-checked with JSDoc (tsconfig.json here, types.d.ts).
// @ts-check

/** @import { Attributes, Child, ElementOf, Health, SparklinePoint } from './types' */

/** @type {Record<Health, { icon: string, label: string }>} */
export const HEALTH = {
  ok: { icon: '✓', label: 'OK' },
  at_risk: { icon: '⚠', label: 'At risk' },
  breached: { icon: '✕', label: 'Breached' },
  no_data: { icon: '–', label: 'No data' },
}
/** Series colours, told apart by hue. */
export const PALETTE = /** @type {const} */ ([
  '#0b57d0',
  '#b3261e',
  '#146c2e',
  '#8a4f00',
  '#6b2fa3',
  '#00677f',
  '#a3195b',
  '#4f5761',
])
const SVG_NS = 'http://www.w3.org/2000/svg'
const SVG_TAGS = new Set(['svg', 'path', 'line', 'rect', 'circle', 'g', 'text', 'title'])

/**
 * One of the page's own elements (index.html), which are always there: no null to check. Looks
 * for what may be missing go through `document.querySelector`.
 * @param {string} selector
 * @returns {HTMLElement}
 */
export const $ = (selector) => /** @type {HTMLElement} */ (document.querySelector(selector))

/**
 * A read token, where the API needs one (CPI_READ_TOKENS): given once as ?access_token=…, kept
 * for the tab's session and taken out of the address bar. EventSource cannot send headers, so
 * the stream gets it in its query string.
 */
export const readToken = (() => {
  const params = new URLSearchParams(location.search)
  const given = params.get('access_token')
  try {
    if (given) sessionStorage.setItem('cpi-read-token', given)
    else return sessionStorage.getItem('cpi-read-token')
  } catch {
    // Storage can be disabled; the token then lasts for this page only.
  }
  if (given) {
    params.delete('access_token')
    history.replaceState(null, '', params.size ? `/?${params}` : '/')
  }
  return given
})()

/**
 * `fetch` with the read token, when there is one.
 * @param {string} url
 * @param {RequestInit} [init]
 */
export function apiFetch(url, init = {}) {
  return fetch(url, readToken ? { ...init, headers: { authorization: `Bearer ${readToken}` } } : init)
}

/**
 * GET as JSON; a non-2xx answer throws with the API's message. The caller says what it expects.
 * @param {string} url
 * @param {AbortSignal} [signal]
 * @returns {Promise<unknown>}
 */
export async function getJson(url, signal) {
  const response = await apiFetch(url, { signal })
  const body = await response.json().catch(() => ({}))
  if (!response.ok) throw new Error(body.message || `${response.status} ${response.statusText}`)
  return body
}

/**
 * Creates an element (SVG when the tag is an SVG one) with attributes and children.
 * @template {string} K
 * @param {K} tag
 * @param {Attributes} [attributes]
 * @param {...Child} children
 * @returns {ElementOf<K>}
 */
export function h(tag, attributes = {}, ...children) {
  const node = SVG_TAGS.has(tag) ? document.createElementNS(SVG_NS, tag) : document.createElement(tag)
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'text') node.textContent = /** @type {string} */ (value)
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), /** @type {EventListener} */ (value))
    else node.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) node.append(child)
  return /** @type {ElementOf<K>} */ (node)
}

// ---------- formatting ----------

/**
 * @param {number | null | undefined} ratio
 * @param {number} [digits]
 */
export function percent(ratio, digits = 1) {
  if (ratio === null || ratio === undefined || Number.isNaN(ratio)) return '—'
  const value = ratio * 100
  return `${Number.isInteger(value) && digits === 0 ? value : value.toFixed(digits)} %`
}

/** @param {number} target */
export function targetPercent(target) {
  const value = Math.round(target * 1000) / 10
  return `${value} %`
}

/** @param {number | null | undefined} ms */
export function duration(ms) {
  if (ms === null || ms === undefined) return '—'
  const abs = Math.abs(ms)
  if (abs < 1000) return `${Math.round(ms)} ms`
  if (abs < 60_000) return `${(ms / 1000).toFixed(1)} s`
  if (abs < 3600_000) return `${(ms / 60_000).toFixed(1)} min`
  if (abs < 86_400_000) return `${(ms / 3600_000).toFixed(1)} h`
  return `${(ms / 86_400_000).toFixed(1)} d`
}

/** @param {string | null | undefined} iso */
export function clock(iso) {
  if (!iso) return '—'
  return `${new Date(iso).toISOString().slice(11, 19)} UTC`
}

export const integer = new Intl.NumberFormat('en')

// ---------- the SVG sparkline ----------

/**
 * @param {SparklinePoint[]} points
 * @param {number} target
 */
export function sparkline(points, target) {
  const svg = h('svg', {
    class: 'sparkline',
    viewBox: '0 0 100 30',
    preserveAspectRatio: 'none',
    'aria-hidden': 'true',
    focusable: 'false',
  })
  const values = points.map((point) => point.ratio).filter((ratio) => ratio !== null)
  const low = Math.max(0, Math.min(target, ...values, 1) - 0.02)
  const y = (/** @type {number} */ ratio) => (30 - ((ratio - low) / (1 - low || 1)) * 28 - 1).toFixed(2)
  const x = (/** @type {number} */ index) =>
    (points.length > 1 ? (index / (points.length - 1)) * 100 : 50).toFixed(2)
  svg.append(h('line', { class: 'target-line', x1: 0, x2: 100, y1: y(target), y2: y(target) }))
  let d = ''
  let drawing = false
  points.forEach((point, index) => {
    if (point.ratio === null) {
      drawing = false
      return
    }
    d += `${drawing ? 'L' : 'M'}${x(index)} ${y(point.ratio)} `
    // A point with no neighbour is drawn as a dot (a zero-length line with round caps).
    const next = points[index + 1]
    if (!drawing && (next === undefined || next.ratio === null)) d += `L${x(index)} ${y(point.ratio)} `
    drawing = true
  })
  if (d) svg.append(h('path', { class: 'line', d: d.trim() }))
  return svg
}
