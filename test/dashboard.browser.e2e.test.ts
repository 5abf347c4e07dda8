import type { AllInOne } from '@cpi/all-in-one'
import { builtinCatalogFile, loadCatalog } from '@cpi/cpi-core'
import { createLogger } from '@cpi/logger'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, watchPageProblems } from './support/browser.ts'
import { type RunningProduct, startProduct } from './support/product.ts'

// The whole product in this process (simulator → Kafka → processor → ClickHouse → API → page),
// driven through a real Chromium: what an operator sees, not what the JSON says.

const PERCENT = /^\d{1,3}\.\d %$/
const catalog = await loadCatalog([builtinCatalogFile])
const logger = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'error' })

let app: AllInOne
let product: RunningProduct | undefined
let browser: Browser
let page: Page
let problems: string[]

// In-page expressions are strings: this project type-checks against Node, not the DOM.
const inPage = async <T>(expression: string): Promise<T> => (await page.evaluate(expression)) as T

/** The text of every tile's value and pending count, by CPI. */
const tileTexts = () =>
  inPage<Record<string, string>>(`Object.fromEntries([...document.querySelectorAll('.tile')].map((tile) =>
    [tile.dataset.cpi, tile.querySelector('.value').textContent + ' | ' + tile.querySelector('.pending').textContent]))`)
const tileNames = () =>
  inPage<string[]>(`[...document.querySelectorAll('.tile')].map((tile) => tile.dataset.cpi)`)
const tileValues = () =>
  inPage<Record<string, string>>(
    `Object.fromEntries([...document.querySelectorAll('.tile')].map((tile) => [tile.dataset.cpi, tile.querySelector('.value').textContent]))`,
  )
const activeCpi = () => inPage<string | null>('document.activeElement?.dataset.cpi ?? null')
const dialogOpen = () => inPage<boolean>(`document.querySelector('#detail').open`)
const scrollWidth = () => inPage<number>('document.documentElement.scrollWidth')
const segmentRows = () =>
  inPage<
    { segment: string; value: string }[]
  >(`[...document.querySelectorAll('#detail-table tbody tr[data-segment]')]
    .map((row) => ({ segment: row.dataset.segment, value: row.querySelector('.segment-value').textContent }))`)

describe('the live dashboard in a real browser', () => {
  beforeAll(async () => {
    product = await startProduct('dashboard', logger)
    app = product.app
    browser = await launchBrowser()
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    problems = watchPageProblems(page)
  })

  afterAll(async () => {
    await browser?.close()
    await product?.stop()
  })

  it('serves the page under a strict content-security-policy', async () => {
    const response = await fetch(`${app.url}/`)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(response.headers.get('cache-control')).toBe('no-cache')
    expect(response.headers.get('content-security-policy')).toBe(
      "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    )
    for (const [asset, type] of [
      ['/app.js', 'text/javascript'],
      ['/app.css', 'text/css'],
      ['/vendor/uplot.js', 'text/javascript'],
      ['/vendor/uplot.css', 'text/css'],
    ] as const) {
      const fetched = await fetch(`${app.url}${asset}`)
      expect(fetched.status, asset).toBe(200)
      expect(fetched.headers.get('content-type'), asset).toContain(type)
    }
  })

  it('shows a tile per catalog CPI with its value against its target, as the API reports it', async () => {
    await page.goto(`${app.url}/`)
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 })
    await expect.poll(tileNames, { timeout: 30_000 }).toEqual(catalog.map((definition) => definition.name))

    // A tile shows a value wherever the API has one, and says so where no outcome is known yet
    // (deliveries promised beyond the backfilled hour). Quotes and calls are decided within
    // seconds, checkouts within minutes and value credits at once: those must have values once
    // the backfill is through.
    const decidedQuickly = ['fast_quote', 'phone_answer_20s', 'payment_flexibility', 'value_delivered']
    const tilesAgreeWithApi = async () => {
      const api = (await (await fetch(`${app.url}/v1/cpis?window=1h`)).json()) as {
        cpis: { name: string; current: { ratio: number | null } | null }[]
      }
      const shown = await tileValues()
      return api.cpis.every((cpi) => {
        const known = cpi.current?.ratio !== null && cpi.current?.ratio !== undefined
        if (decidedQuickly.includes(cpi.name) && !known) return false
        return known ? PERCENT.test(shown[cpi.name] ?? '') : shown[cpi.name] === '—'
      })
    }
    await expect.poll(tilesAgreeWithApi, { timeout: 100_000, interval: 1000 }).toBe(true)
    const values = await tileValues()
    for (const name of decidedQuickly) expect(values[name]).toMatch(PERCENT)
    // Value and note read in one go: the live stream may fill a tile between two reads.
    const notes = await inPage<[string, string, boolean][]>(
      `[...document.querySelectorAll('.tile')].map((tile) => [tile.dataset.cpi, tile.querySelector('.value').textContent, !tile.querySelector('.value-note').hidden])`,
    )
    expect(notes.length).toBe(catalog.length)
    for (const [name, value, noteShown] of notes) expect(noteShown, name).toBe(value === '—')
    for (const definition of catalog) {
      const tile = page.locator(`.tile[data-cpi="${definition.name}"]`)
      await expect
        .poll(() => tile.locator('.target').textContent())
        .toBe(`target ${Math.round(definition.objective.target * 1000) / 10} %`)
      // Status is never colour alone: a label names it.
      expect(await tile.locator('.health .label').textContent()).toMatch(/^(OK|At risk|Breached|No data)$/)
      expect(await tile.locator('.pending').textContent()).toMatch(/^[\d,]+ pending$/)
      expect(await tile.locator('svg.sparkline').count()).toBe(1)
    }
    expect(await page.locator('#freshness .label').textContent()).toMatch(
      /^(Fresh|Delayed|Stale): data .* old · lag /,
    )
    await screenshot(page, 'dashboard-desktop', { fullPage: true })
  })

  it("shows a customer's value delivered: totals per kind and unit against the promise, the latest credits, and an unknown customer named", async () => {
    type Value = {
      credits: number
      totals: { kind: string; unit: string; amount: number; metPromise: number; creditsWithPromise: number }[]
      recent: { id: string }[]
    }
    // The simulator credits some of its 5,000 customers: the first of them with credits.
    let customer = ''
    let value: Value | undefined
    for (let n = 1; n <= 50 && !value?.credits; n++) {
      customer = `cust-${n}`
      const response = await fetch(`${app.url}/v1/customers/${customer}/value?limit=5`)
      value = response.ok ? ((await response.json()) as Value) : undefined
    }
    expect(value?.credits).toBeGreaterThan(0)
    const shown = value as Value

    await page.fill('#value-customer', customer)
    await page.keyboard.press('Enter')
    await expect
      .poll(() => page.locator('.value-total').count(), { timeout: 15_000 })
      .toBe(shown.totals.length)
    const totals = await inPage<{ kind: string; unit: string; amount: string; promise: string }[]>(
      `[...document.querySelectorAll('.value-total')].map((item) => ({ kind: item.dataset.kind, unit: item.dataset.unit,
        amount: item.querySelector('.value-amount').textContent, promise: item.querySelector('.value-promise').textContent }))`,
    )
    expect(totals.map(({ kind, unit }) => [kind, unit])).toEqual(
      shown.totals.map(({ kind, unit }) => [kind, unit]),
    )
    for (const [index, total] of shown.totals.entries()) {
      const text = totals[index] as { amount: string; promise: string }
      // Money as currency, the rest as a number and its unit.
      if (total.unit === 'EUR') expect(text.amount).toMatch(/^€[\d,]+\.\d{2}$/)
      else expect(text.amount).toMatch(new RegExp(`^[\\d,.]+ ${total.unit}$`))
      if (total.creditsWithPromise > 0)
        expect(text.promise).toMatch(
          new RegExp(`^${total.metPromise} of ${total.creditsWithPromise} as promised \\(`),
        )
    }
    // The latest credits, newest first, as the API lists them (new ones may have come meanwhile).
    expect(await page.locator('.value-credit').count()).toBeGreaterThan(0)
    expect(await page.locator('#value-status').textContent()).toMatch(
      new RegExp(` to ${customer} since \\d{4}-\\d{2}-\\d{2}`),
    )
    await page.locator('.value-section').scrollIntoViewIfNeeded()
    await screenshot(page, 'dashboard-customer-value')

    // A slow answer to an earlier lookup never replaces the answer to the latest one.
    let slowAnswered = false
    const slow = (url: URL) => url.pathname === `/v1/customers/${customer}/value`
    await page.route(slow, async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 1500))
      await route.continue()
      slowAnswered = true
    })
    await page.fill('#value-customer', customer)
    await page.keyboard.press('Enter')
    await page.fill('#value-customer', 'nobody-at-all')
    await page.keyboard.press('Enter')
    await expect
      .poll(() => page.locator('#value-status').textContent(), { timeout: 15_000 })
      .toBe('no stored event names customer "nobody-at-all"')
    await expect.poll(() => slowAnswered, { timeout: 15_000 }).toBe(true)
    await page.waitForTimeout(300)
    await page.unroute(slow)
    expect(await page.locator('#value-status').textContent()).toBe(
      'no stored event names customer "nobody-at-all"',
    )
    expect(await page.locator('.value-total').count()).toBe(0)
    // That 404 is the answer asked for, not a problem of the page: its request and the browser's
    // console line about it are taken out of the problems the last test checks (any other 404's
    // request stays there).
    const asked = (problem: string) =>
      problem.includes('/v1/customers/nobody-at-all/value') || problem.endsWith('status of 404 (Not Found)')
    await expect.poll(() => problems.filter(asked).length, { timeout: 5_000 }).toBe(2)
    problems.splice(0, problems.length, ...problems.filter((problem) => !asked(problem)))
  })

  it('updates a tile in place from the live stream, without a reload', async () => {
    await page.evaluate('window.notReloaded = true')
    const before = await tileTexts()
    await expect
      .poll(
        async () => {
          const now = await tileTexts()
          return Object.keys(now).some((name) => now[name] !== before[name])
        },
        { timeout: 60_000, interval: 500 },
      )
      .toBe(true)
    expect(await inPage<boolean>('window.notReloaded')).toBe(true)
    expect(await page.locator('#connection .label').textContent()).toBe('Live')
  })

  it('opens a drill-down with the keyboard, splits it by a dimension, and closes it with Escape', async () => {
    const first = catalog[0]?.name as string
    for (let presses = 0; presses < 10 && (await activeCpi()) !== first; presses++)
      await page.keyboard.press('Tab')
    expect(await activeCpi()).toBe(first)
    await page.keyboard.press('Enter')
    await expect.poll(dialogOpen).toBe(true)
    expect(new URL(page.url()).searchParams.get('cpi')).toBe(first)
    await page.waitForSelector('#detail-chart canvas')
    await expect
      .poll(segmentRows, { timeout: 30_000 })
      .toEqual([{ segment: 'all', value: expect.stringMatching(PERCENT) }])

    // Choose "channel" in the "by" selector with the keyboard too.
    await page.focus('#detail-by')
    await page.selectOption('#detail-by', 'channel')
    const api = (await (await fetch(`${app.url}/v1/cpis/${first}?from=now-6h&to=now&by=channel`)).json()) as {
      series: { segment: string }[]
    }
    const expected = api.series.map((series) => series.segment).sort()
    expect(expected.length).toBeGreaterThan(1)
    await expect
      .poll(async () => (await segmentRows()).map((row) => row.segment).sort(), { timeout: 30_000 })
      .toEqual(expected)
    for (const row of await segmentRows()) expect(row.value).toMatch(PERCENT)
    expect(new URL(page.url()).searchParams.get('by')).toBe('channel')
    // One chart series per segment plus the target line (uPlot's legend lists them).
    expect(await page.locator('#detail-chart .u-legend .u-series').count()).toBe(1 + expected.length + 1)
    await screenshot(page, 'dashboard-detail-desktop')

    await page.keyboard.press('Escape')
    await expect.poll(dialogOpen).toBe(false)
    // The dialog's close event (which returns focus and rewrites the address) is a task queued
    // after the dialog shuts: wait for it rather than race it.
    await expect.poll(() => new URL(page.url()).search).toBe('')
    await expect.poll(activeCpi).toBe(first)
  })

  it('opens the drill-down a deep link names (alert annotations link there)', async () => {
    await page.goto(`${app.url}/?cpi=fast_quote&by=channel&segment=web`)
    await expect.poll(dialogOpen, { timeout: 30_000 }).toBe(true)
    await page.waitForSelector('#detail-table tbody tr[data-segment="web"][aria-current="true"]', {
      timeout: 30_000,
    })
    expect(await page.inputValue('#detail-by')).toBe('channel')
    await page.keyboard.press('Escape')
    await expect.poll(dialogOpen).toBe(false)
  })

  it('shows the events beyond the revision horizon once there are some, with how to bring them in', async () => {
    type Freshness = { beyondHorizon: { events: number; latestAt: string | null } }
    const freshness = async () => (await (await fetch(`${app.url}/v1/freshness`)).json()) as Freshness
    await page.goto(`${app.url}/`)
    await expect
      .poll(() => page.locator('#freshness .label').textContent(), { timeout: 30_000 })
      .toMatch(/ old · lag /)
    expect((await freshness()).beyondHorizon).toEqual({ events: 0, latestAt: null })
    expect(await page.locator('#beyond-horizon').isHidden()).toBe(true)

    // Through the gateway, as a producer would: one source's event of now, then one of its
    // events nine days older, past the 8-day horizon (both on one partition: one subject).
    const now = Date.now()
    const late = (id: string, time: number) => ({
      specversion: '1.0',
      id,
      source: '/test/late-source',
      type: 'quote.issued',
      time: new Date(time).toISOString(),
      subject: 'LATE-PROBE',
      data: {},
    })
    const sent = await fetch(`${app.url}/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${app.ingest.keys[0]}`,
        'content-type': 'application/cloudevents-batch+json',
      },
      body: JSON.stringify([late('late-probe-now', now), late('late-probe-old', now - 9 * 86_400_000)]),
    })
    expect(await sent.json()).toEqual({ accepted: 2, rejected: [] })

    await expect.poll(async () => (await freshness()).beyondHorizon.events, { timeout: 30_000 }).toBe(1)
    const { latestAt } = (await freshness()).beyondHorizon
    expect(Date.parse(latestAt ?? '')).toBeGreaterThanOrEqual(now - 1000)
    const shown = page.locator('#beyond-horizon')
    await expect.poll(() => shown.isVisible(), { timeout: 30_000 }).toBe(true)
    expect(await shown.textContent()).toBe('1 event beyond the horizon')
    const explanation = (await shown.getAttribute('title')) ?? ''
    expect(explanation).toContain('left out of the CPIs')
    expect(explanation).toContain('bin/cpi recompute --cpi NAME --from T --to T --include-late')
    await screenshot(page, 'dashboard-beyond-horizon')
  })

  it('lists the interactions about to breach, soonest first, with the counts the API reports', async () => {
    await page.goto(`${app.url}/`)
    const rows = page.locator('#breaching li[data-subject]')
    // The simulator's quotes wait at most 30 s for an answer: some are always due within 15 min.
    await expect.poll(() => rows.count(), { timeout: 60_000 }).toBeGreaterThan(0)
    const shown = await inPage<{ cpi: string; subject: string; due: string }[]>(
      `[...document.querySelectorAll('#breaching li[data-subject]')].map((li) => ({ cpi: li.dataset.cpi,
        subject: li.dataset.subject, due: li.querySelector('.breach-due').textContent }))`,
    )
    expect(shown.length).toBeLessThanOrEqual(10)
    for (const row of shown) {
      // Only CPIs with a deadline (latency shape), each row due in (or overdue by) a short time.
      expect(catalog.find((definition) => definition.name === row.cpi)?.shape).toBe('latency')
      expect(row.due).toMatch(/^due (in )?\d+(\.\d)? (ms|s|min)( ago)?$/)
    }
    type Breaching = { total: number; counts: { cpi: string; dimension: string; count: number }[] }
    const api = (await (await fetch(`${app.url}/v1/breaching?within=15m`)).json()) as Breaching
    expect(api.total).toBeGreaterThan(0)
    expect(
      api.counts.filter((count) => count.dimension === 'all').reduce((sum, count) => sum + count.count, 0),
    ).toBe(api.total)
    expect(await page.locator('#breaching-count').textContent()).toMatch(/^\d[\d,]*$/)
    expect(await page.locator('#breaching-by-cpi').textContent()).toMatch(/: \d/)
    await screenshot(page, 'dashboard-breaching', { fullPage: true })
  })

  it('fits a 375 px phone screen without horizontal scrolling, tiles stacked', async () => {
    await page.setViewportSize({ width: 375, height: 800 })
    await page.goto(`${app.url}/`)
    await expect
      .poll(() => page.locator('.tile .value').first().textContent(), { timeout: 30_000 })
      .toMatch(PERCENT)
    expect(await scrollWidth()).toBeLessThanOrEqual(375)
    const lefts = await inPage<number[]>(
      `[...document.querySelectorAll('.tile')].map((tile) => Math.round(tile.getBoundingClientRect().left))`,
    )
    expect(new Set(lefts).size).toBe(1)
    await screenshot(page, 'dashboard-phone', { fullPage: true })

    await page.goto(`${app.url}/?cpi=fast_quote&by=channel`)
    await page.waitForSelector('#detail-table tbody tr[data-segment]', { timeout: 30_000 })
    expect(await scrollWidth()).toBeLessThanOrEqual(375)
    await screenshot(page, 'dashboard-detail-phone')
  })

  it('raised no page error, console error or failed request on the way', () => {
    expect(problems).toEqual([])
  })
})
