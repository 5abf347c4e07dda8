import type { AllInOne } from '@cpi/all-in-one'
import { builtinCatalogFile, loadCatalog } from '@cpi/cpi-core'
import { createLogger } from '@cpi/logger'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchBrowser, screenshot, watchPageProblems } from './support/browser.ts'
import { type RunningProduct, startProduct } from './support/product.ts'

// The analytics views of the dashboard (index, scorecards, perception, linkage, experiments)
// in a real Chromium, against the whole product in this process with the simulator (and its
// planted A/B experiment) on: what is drawn must be what the API answered the page.

const VIEWS = ['index', 'scorecards', 'perception', 'linkage', 'experiments'] as const
const QUOTE_BUCKETS = ['≤30s', '30s–5m', '5m–1h', '>1h', 'never']
const catalog = await loadCatalog([builtinCatalogFile])
const logger = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'error' })
const integer = new Intl.NumberFormat('en')

let app: AllInOne
let product: RunningProduct | undefined
let browser: Browser
let page: Page
let problems: string[]
/** The latest JSON body of each /v1/analytics/* path the page fetched. */
const answered = new Map<string, unknown>()

interface Interval {
  lower: number
  upper: number
}
interface Difference {
  difference: number
  interval: Interval
  pValue: number
}
interface IndexResponse {
  window: string
  current: {
    value: number | null
    lower: number | null
    upper: number | null
    target: number | null
    components: { cpi: string; weight: number; share: number; contribution: number }[]
  }
  series: { value: number | null }[]
}
interface Brief {
  name: string
  ratio: number | null
  health: string
}
interface ScorecardsResponse {
  teams: { team: string; indexPoints: number; cpis: (Brief & { leading: Brief[]; lagging: Brief[] })[] }[]
}
interface PerceptionResponse {
  note: string
  cpis: { cpi: string; gap: { csat: Difference | null }; responseRateGap: Difference | null }[]
}
interface LinkageResponse {
  note: string
  links: {
    name: string
    cpi: string
    groups: { group: string; trials: number; followUpComplete: number | null }[]
  }[]
}
interface Comparison extends Difference {
  metric: 'cpi' | 'kpi'
  variant: string
  versus: string
  requiredPerArm: number | null
  remainingPerArm: number | null
  atHorizon: (Difference & { perArm: number }) | null
  decision: 'collecting' | 'significant' | 'not_significant'
}
interface ExperimentsResponse {
  design: { minimumDetectableEffect: number; alpha: number; rule: string }
  experiments: {
    id: string
    cpis: {
      cpi: string
      kpi: string | null
      arms: { variant: string; kpi: unknown }[]
      comparisons: Comparison[]
    }[]
  }[]
}

async function api<T>(pathAndQuery: string): Promise<T> {
  const response = await fetch(`${app.url}${pathAndQuery}`)
  if (!response.ok) throw new Error(`${pathAndQuery}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/** What the page last received from /v1/analytics/<name>. */
const last = <T>(name: string) => answered.get(`/v1/analytics/${name}`) as T | undefined

// In-page expressions are strings: this project type-checks against Node, not the DOM.
const inPage = async <T>(expression: string): Promise<T> => (await page.evaluate(expression)) as T
const texts = (selector: string) =>
  inPage<string[]>(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].map((node) => node.textContent)`,
  )
const attributes = (selector: string, attribute: string) =>
  inPage<string[]>(
    `[...document.querySelectorAll(${JSON.stringify(selector)})].map((node) => node.getAttribute(${JSON.stringify(attribute)}))`,
  )
const scrollWidth = () => inPage<number>('document.documentElement.scrollWidth')
const activeText = () => inPage<string | null>('document.activeElement?.textContent ?? null')
const activeId = () => inPage<string | null>('document.activeElement?.id || null')
const currentView = () => new URL(page.url()).searchParams.get('view')

const percent = (ratio: number | null) => (ratio === null ? '—' : `${(ratio * 100).toFixed(1)} %`)
const pValue = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`)

/** The decision in the words the page must use, from the API's comparison. */
function decisionWords(comparison: Comparison, alpha: number): string {
  if (comparison.decision === 'collecting')
    return comparison.requiredPerArm === null
      ? 'Collecting: the sample size cannot be planned (the control’s rate is 0 or 1)'
      : `Collecting: ${integer.format(comparison.remainingPerArm ?? 0)} more per arm before reading the p-value`
  // Decided on the first planned interactions of each arm.
  const p = comparison.atHorizon?.pValue ?? comparison.pValue
  const basis = comparison.atHorizon
    ? `, on the first ${integer.format(comparison.atHorizon.perArm)} per arm`
    : ''
  if (comparison.decision === 'significant')
    return `Significant: ${comparison.variant} differs from ${comparison.versus} (${pValue(p)} < α ${alpha}${basis})`
  return `Not significant: no difference shown at the planned size (${pValue(p)} ≥ α ${alpha}${basis})`
}

/** Opens a view and waits until it has drawn what the API answered it. */
async function open(view: string) {
  answered.delete(`/v1/analytics/${view}`)
  await page.goto(`${app.url}/?view=${view}`)
  await page.waitForSelector('#analytics-status:text-matches("^As of")', { timeout: 30_000 })
  await expect.poll(() => answered.has(`/v1/analytics/${view}`)).toBe(true)
}

describe('the analytics views in a real browser', () => {
  beforeAll(async () => {
    product = await startProduct('analytics', logger, { CPI_SIMULATOR_EXPERIMENT: 'on' })
    app = product.app
    browser = await launchBrowser()
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    problems = watchPageProblems(page)
    page.on('response', (response) => {
      const url = new URL(response.url())
      if (!url.pathname.startsWith('/v1/analytics/') || !response.ok()) return
      response.json().then(
        (body) => answered.set(url.pathname, body),
        () => undefined,
      )
    })
  })

  afterAll(async () => {
    await browser?.close()
    await product?.stop()
  })

  it('serves the analytics modules under the same content-security-policy', async () => {
    for (const asset of ['/common.js', '/analytics.js']) {
      const fetched = await fetch(`${app.url}${asset}`)
      expect(fetched.status, asset).toBe(200)
      expect(fetched.headers.get('content-type'), asset).toBe('text/javascript; charset=utf-8')
      expect(fetched.headers.get('content-security-policy'), asset).toBe(
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
      )
    }
  })

  it('waits until the backfilled quotes, with their experiment arms, are processed and the backfill is through', async () => {
    const quotesIn = async () => {
      const { cpis } = await api<{ cpis: { name: string; current: { total: number } | null }[] }>(
        '/v1/cpis?window=1h',
      )
      return cpis.find((cpi) => cpi.name === 'fast_quote')?.current?.total ?? 0
    }
    await expect.poll(quotesIn, { timeout: 100_000, interval: 1000 }).toBeGreaterThan(1000)
    const arms = async () => {
      const body = await api<ExperimentsResponse>('/v1/analytics/experiments')
      const quote = body.experiments
        .find((experiment) => experiment.id === 'fastquote-routing')
        ?.cpis.find((cpi) => cpi.cpi === 'fast_quote')
      return quote?.arms.map((arm) => arm.variant) ?? []
    }
    await expect.poll(arms, { timeout: 60_000, interval: 1000 }).toEqual(['A', 'B'])
    // The backfilled hour through the processor: the views (and screenshots) show settled data.
    const caughtUp = async () => {
      const { freshnessMs } = await api<{ freshnessMs: number | null }>('/v1/freshness')
      return freshnessMs !== null && freshnessMs < 30_000
    }
    await expect.poll(caughtUp, { timeout: 120_000, interval: 1000 }).toBe(true)
  })

  it('links the live view and every analytics view from the navigation', async () => {
    await open('index')
    expect(await attributes('.views a', 'href')).toEqual(['/', ...VIEWS.map((view) => `/?view=${view}`)])
    expect(await attributes('.views a[aria-current="page"]', 'data-view')).toEqual(['index'])
    expect(await page.isVisible('#live')).toBe(false)
    expect(await page.title()).toBe('CPI · Customer index')
  })

  it('index: the number, interval and target the API reports, its 30 windows and its components', async () => {
    await open('index')
    await page.waitForSelector('.index-chart canvas')
    const agrees = async () => {
      const body = last<IndexResponse>('index')
      if (!body || body.current.value === null) return false
      const { value, lower, upper, target } = body.current
      const [shown] = await texts('.index-value')
      const [interval] = await texts('.index-interval')
      const [goal] = await texts('.index-target')
      return (
        shown === value.toFixed(1) &&
        interval === `95 % interval ${lower?.toFixed(1)} – ${upper?.toFixed(1)}` &&
        goal === `Target ${target?.toFixed(1)}`
      )
    }
    await expect.poll(agrees, { timeout: 30_000 }).toBe(true)
    const body = last<IndexResponse>('index') as IndexResponse
    expect(body.series).toHaveLength(30)
    // uPlot's legend: time, the index, the target line.
    expect(await page.locator('.index-chart .u-legend .u-series').count()).toBe(3)
    expect(await page.getAttribute('.index-figure', 'aria-label')).toContain(
      `per ${body.window} window, 30 windows`,
    )
    expect(await texts('.index-headline .badge .label')).toEqual([
      expect.stringMatching(/^(On target|Below target|Below target, within the interval)$/),
    ])
    // One legend entry per weighted CPI, with its points; the points add up to the index.
    const weighted = body.current.components.filter((component) => component.weight > 0)
    expect((await attributes('.index-legend li', 'data-cpi')).sort()).toEqual(
      weighted.map((component) => component.cpi).sort(),
    )
    const agreeingComponents = async () => {
      const latest = last<IndexResponse>('index') as IndexResponse
      const shown = Object.fromEntries(
        await inPage<[string, string][]>(
          `[...document.querySelectorAll('.index-legend li')].map((li) => [li.dataset.cpi, li.querySelector('.contribution')?.textContent ?? ''])`,
        ),
      )
      return latest.current.components
        .filter((component) => component.share > 0)
        .every((component) => shown[component.cpi] === component.contribution.toFixed(1))
    }
    await expect.poll(agreeingComponents, { timeout: 30_000 }).toBe(true)
    const sum = body.current.components.reduce((total, component) => total + component.contribution, 0)
    expect(sum).toBeCloseTo(body.current.value as number, 6)
    expect(await page.locator('.index-bar rect.earned').count()).toBe(
      body.current.components.filter((component) => component.share > 0).length,
    )
    await screenshot(page, 'analytics-index', { fullPage: true })
  })

  it('scorecards: every team of the catalog with each of its CPIs and their leading and lagging indicators', async () => {
    await open('scorecards')
    const teams = [...new Set(catalog.map((definition) => definition.owner))].sort()
    expect(await attributes('.scorecard', 'data-team')).toEqual(teams)
    expect(await texts('.scorecard h3')).toEqual(teams)
    for (const definition of catalog) {
      const selector = `.scorecard[data-team="${definition.owner}"] .score-cpi[data-cpi="${definition.name}"]`
      const card = page.locator(selector)
      expect(await card.count(), definition.name).toBe(1)
      expect(await attributes(`${selector} .leading .chip`, 'data-cpi')).toEqual(definition.leadingIndicators)
      const lagging = catalog
        .filter((other) => other.leadingIndicators.includes(definition.name))
        .map((other) => other.name)
      expect((await attributes(`${selector} .lagging .chip`, 'data-cpi')).sort()).toEqual(lagging.sort())
      expect(await card.locator('.target').textContent()).toBe(
        `target ${Math.round(definition.objective.target * 1000) / 10} %`,
      )
      // Status in words, not colour alone; chips too.
      expect(await card.locator('.score-main .badge .label').textContent()).toMatch(
        /^(OK|At risk|Breached|No data)$/,
      )
      for (const label of await card.locator('.chip-health').allTextContents())
        expect(label).toMatch(/ (OK|At risk|Breached|No data)$/)
    }
    // Values, chips and the team's index points as the API answered the page.
    const agrees = async () => {
      const body = last<ScorecardsResponse>('scorecards')
      if (!body) return false
      const shown = await inPage<Record<string, { value: string; chips: string[]; points: string }>>(
        `Object.fromEntries([...document.querySelectorAll('.score-cpi')].map((row) => [row.dataset.cpi, {
          value: row.querySelector('.score-figures .value').textContent,
          chips: [...row.querySelectorAll('.leading .chip-value')].map((chip) => chip.textContent),
          points: row.closest('.scorecard').querySelector('.index-points').textContent,
        }]))`,
      )
      return body.teams.every((team) =>
        team.cpis.every(
          (cpi) =>
            shown[cpi.name]?.value === percent(cpi.ratio) &&
            shown[cpi.name]?.points === team.indexPoints.toFixed(1) &&
            JSON.stringify(shown[cpi.name]?.chips) ===
              JSON.stringify(cpi.leading.map((lead) => percent(lead.ratio))),
        ),
      )
    }
    await expect.poll(agrees, { timeout: 30_000 }).toBe(true)
    await screenshot(page, 'analytics-scorecards', { fullPage: true })
  })

  it('perception: a CSAT chart per CPI for met vs missed, the gaps, and the response-rate warning', async () => {
    await open('perception')
    const body = last<PerceptionResponse>('perception') as PerceptionResponse
    expect(body.cpis.length).toBeGreaterThan(0)
    expect(await attributes('.perception', 'data-cpi')).toEqual(body.cpis.map((entry) => entry.cpi))
    for (const entry of body.cpis) {
      const selector = `.perception[data-cpi="${entry.cpi}"]`
      const card = page.locator(selector)
      expect(await card.locator('svg[role="img"]').count(), entry.cpi).toBe(1)
      expect(await card.locator('svg[role="img"]').getAttribute('aria-label')).toMatch(/^CSAT top-two-box/)
      expect(await attributes(`${selector} svg g.row`, 'data-group')).toEqual(['met', 'missed'])
      expect(await card.locator('.nps-gap').count()).toBe(1)
      expect(await card.locator('.ces-gap').count()).toBe(1)
      expect(await card.locator('.response-rates').textContent()).toMatch(/^met .* · missed /)
    }
    const agrees = async () => {
      const latest = last<PerceptionResponse>('perception') as PerceptionResponse
      const shown = await inPage<Record<string, { gap: string; warning: string | null }>>(
        `Object.fromEntries([...document.querySelectorAll('.perception')].map((card) => [card.dataset.cpi, {
          gap: card.querySelector('.csat-gap').textContent,
          warning: card.querySelector('.response-warning')?.textContent ?? null,
        }]))`,
      )
      return latest.cpis.every((entry) => {
        const { gap, warning } = shown[entry.cpi] ?? {}
        const gapAgrees =
          entry.gap.csat === null
            ? gap === 'CSAT gap too few responses to compare'
            : gap?.includes(pValue(entry.gap.csat.pValue)) === true
        const warned = entry.responseRateGap !== null && entry.responseRateGap.pValue < 0.05
        const warningAgrees = warned
          ? warning?.includes('Respondents may not be representative') === true
          : warning === null
        return gapAgrees && warningAgrees
      })
    }
    await expect.poll(agrees, { timeout: 30_000 }).toBe(true)
    await screenshot(page, 'analytics-perception', { fullPage: true })
  })

  it('linkage: the KPI rate per quote bucket with whiskers, labelled observational, with follow-up', async () => {
    await open('linkage')
    const body = last<LinkageResponse>('linkage') as LinkageResponse
    expect(await page.textContent('.callout.observational .note-text')).toBe(body.note)
    expect(body.note).toMatch(/^Observational/)
    expect(await page.isVisible('.observational-label')).toBe(true)
    expect(await attributes('.link', 'data-link')).toEqual(body.links.map((link) => link.name))
    for (const link of body.links) {
      const selector = `.link[data-link="${link.name}"]`
      expect(await page.textContent(`${selector} .observational-badge`)).toBe('Observational')
      expect(await attributes(`${selector} svg.bar-chart g.group`, 'data-group')).toEqual(
        link.groups.map((group) => group.group),
      )
    }
    const quote = page.locator('.link[data-cpi="fast_quote"]')
    expect(await attributes('.link[data-cpi="fast_quote"] g.group', 'data-group')).toEqual(QUOTE_BUCKETS)
    // Wilson whiskers on every bucket with quotes.
    const withQuotes = (body.links.find((link) => link.cpi === 'fast_quote')?.groups ?? []).filter(
      (group) => group.trials > 0,
    )
    expect(withQuotes.length).toBeGreaterThan(0)
    for (const group of withQuotes)
      expect(await quote.locator(`g.group[data-group="${group.group}"] line.whisker`).count()).toBe(3)
    const agrees = async () => {
      const latest = last<LinkageResponse>('linkage') as LinkageResponse
      const shown = Object.fromEntries(
        await inPage<[string, string][]>(
          `[...document.querySelectorAll('.link')].map((card) => [card.dataset.link, card.querySelector('.follow-up').textContent])`,
        ),
      )
      return latest.links.every((link) => {
        const total = link.groups.reduce((sum, group) => sum + group.trials, 0)
        const complete = link.groups.reduce((sum, group) => sum + (group.followUpComplete ?? 0), 0)
        return shown[link.name]?.includes(
          `complete for ${integer.format(complete)} of ${integer.format(total)}`,
        )
      })
    }
    await expect.poll(agrees, { timeout: 30_000 }).toBe(true)
    expect(await page.textContent('.link[data-cpi="nothing_broke"] .follow-up')).toMatch(
      /^90-day follow-up complete/,
    )
    await screenshot(page, 'analytics-linkage', { fullPage: true })
  })

  it('experiments: fastquote-routing with arms A and B, the decisions in words, an MDE input that refetches', async () => {
    await open('experiments')
    expect(await page.textContent('.experiment[data-experiment="fastquote-routing"] h3')).toBe(
      'fastquote-routing',
    )
    for (const metric of ['cpi', 'kpi'])
      expect(
        await attributes(
          `.experiment[data-experiment="fastquote-routing"] .experiment-cpi[data-cpi="fast_quote"] .arms[data-metric="${metric}"] g.row`,
          'data-group',
        ),
        metric,
      ).toEqual(['A', 'B'])
    const decisionsAgree = async () => {
      const latest = last<ExperimentsResponse>('experiments')
      if (!latest) return 'no answer yet'
      const experiment = latest.experiments.find((candidate) => candidate.id === 'fastquote-routing')
      if (!experiment) return 'no fastquote-routing'
      const mismatches: string[] = []
      for (const entry of experiment.cpis) {
        for (const comparison of entry.comparisons) {
          const selector = `.experiment[data-experiment="fastquote-routing"] .experiment-cpi[data-cpi="${entry.cpi}"] .comparison[data-metric="${comparison.metric}"][data-variant="${comparison.variant}"]`
          const [decision] = await attributes(selector, 'data-decision')
          const [words] = await texts(`${selector} .decision-text`)
          const expected = decisionWords(comparison, latest.design.alpha)
          if (decision !== comparison.decision || words !== expected)
            mismatches.push(`${entry.cpi}/${comparison.metric}: ${decision} "${words}" ≠ "${expected}"`)
        }
      }
      return mismatches.length ? mismatches.join('; ') : 'agrees'
    }
    await expect.poll(decisionsAgree, { timeout: 30_000 }).toBe('agrees')
    const before = last<ExperimentsResponse>('experiments') as ExperimentsResponse
    const quoteComparisons = before.experiments
      .find((experiment) => experiment.id === 'fastquote-routing')
      ?.cpis.find((cpi) => cpi.cpi === 'fast_quote')?.comparisons
    expect(
      quoteComparisons?.map(
        (comparison) => `${comparison.metric}:${comparison.variant}-${comparison.versus}`,
      ),
    ).toEqual(['cpi:B-A', 'kpi:B-A'])
    // The fixed-horizon rule is on the page, not only in the API.
    expect(await page.textContent('.design .rule')).toBe(before.design.rule)
    expect(await page.locator('.comparison .progress[role="progressbar"]').count()).toBeGreaterThan(0)
    await screenshot(page, 'analytics-experiments', { fullPage: true })

    // A smaller minimum detectable effect needs more interactions per arm: the page refetches.
    const refetched = page.waitForResponse((response) => response.url().includes('mde=0.005'))
    await page.fill('#analytics-mde', '0.5')
    await page.press('#analytics-mde', 'Enter')
    const after = (await (await refetched).json()) as ExperimentsResponse
    expect(after.design.minimumDetectableEffect).toBe(0.005)
    expect(new URL(page.url()).searchParams.get('mde')).toBe('0.005')
    await expect.poll(() => page.textContent('.design p')).toContain('minimum detectable effect 0.50 pt')
    const required = (body: ExperimentsResponse) =>
      body.experiments
        .find((experiment) => experiment.id === 'fastquote-routing')
        ?.cpis.find((cpi) => cpi.cpi === 'fast_quote')
        ?.comparisons.find((comparison) => comparison.metric === 'cpi')?.requiredPerArm ?? 0
    expect(required(after)).toBeGreaterThan(required(before))
    await expect.poll(decisionsAgree, { timeout: 30_000 }).toBe('agrees')
  })

  it('moves between the views with the keyboard, and from a scorecard into the drill-down', async () => {
    await open('index')
    await page.focus('body')
    for (let presses = 0; presses < 15 && (await activeText()) !== 'Perception'; presses++)
      await page.keyboard.press('Tab')
    expect(await activeText()).toBe('Perception')
    await page.keyboard.press('Enter')
    await expect.poll(currentView).toBe('perception')
    // Focus lands on the view's heading, so a screen reader announces where it is.
    expect(await activeId()).toBe('analytics-heading')
    expect(await page.textContent('#analytics-heading')).toBe('Perception vs performance')
    expect(await attributes('.views a[aria-current="page"]', 'data-view')).toEqual(['perception'])

    // Back to the navigation (Shift+Tab from the heading reaches its last link), on to experiments.
    await page.keyboard.press('Shift+Tab')
    expect(await activeText()).toBe('Experiments')
    await page.keyboard.press('Enter')
    await expect.poll(currentView).toBe('experiments')
    await page.waitForSelector('.experiment[data-experiment="fastquote-routing"]', { timeout: 30_000 })
    await page.goBack()
    await expect.poll(currentView).toBe('perception')
    await expect.poll(() => page.textContent('#analytics-heading')).toBe('Perception vs performance')

    // A CPI on a scorecard opens the live drill-down (?cpi= deep links keep working); Back returns.
    await open('scorecards')
    await page.focus('.score-cpi[data-cpi="fast_quote"] h4 a')
    await page.keyboard.press('Enter')
    await expect.poll(() => inPage<boolean>(`document.querySelector('#detail').open`)).toBe(true)
    expect(new URL(page.url()).searchParams.get('cpi')).toBe('fast_quote')
    expect(await page.isVisible('#analytics')).toBe(false)
    await page.keyboard.press('Escape')
    await expect.poll(() => inPage<boolean>(`document.querySelector('#detail').open`)).toBe(false)
    await page.goBack()
    await expect.poll(currentView).toBe('scorecards')
    await page.waitForSelector('.scorecard')

    // And the live view from the navigation.
    await page.click('.views a[data-view="live"]')
    await expect.poll(() => page.isVisible('#live')).toBe(true)
    expect(await page.isVisible('#analytics')).toBe(false)
    expect(new URL(page.url()).search).toBe('')
    expect(await activeId()).toBe('tiles-heading')
  })

  it('fits a 375 px phone screen without horizontal scrolling in every analytics view', async () => {
    await page.setViewportSize({ width: 375, height: 800 })
    for (const view of VIEWS) {
      await open(view)
      expect(await scrollWidth(), view).toBeLessThanOrEqual(375)
    }
    await screenshot(page, 'analytics-experiments-phone', { fullPage: true })
  })

  it('raised no page error, console error or failed request on the way', () => {
    expect(problems).toEqual([])
  })
})
