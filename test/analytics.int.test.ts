import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  analyzeExperiment,
  type Counts,
  customerIndex,
  type ExperimentDesign,
  linkage as linkageOf,
  sampleSizePerArm,
  twoProportionTest,
} from '@cpi/analytics'
import { startApi } from '@cpi/api'
import { recordWatermarks } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { BatchingProducer } from '@cpi/kafka'
import { startProcessor } from '@cpi/processor'
import { createHttpServer, createMetricsRegistry } from '@cpi/runtime'
import {
  churnByResolution,
  experimentArms,
  type Fact,
  type FollowUpCounts,
  groundTruth,
  kafkaSink,
  parseScenario,
  quoteAcceptanceByBucket,
  repeatOrderByDelivery,
  type SurveyFact,
  sendAll,
  simulate,
} from '@cpi/simulator'
import { describe, expect } from 'vitest'
import { testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal } from './support/ledger.ts'
import { topicSize } from './support/topic-reader.ts'

// The analytics read back what the simulator planted, through the real broker, processor and
// engine: every count equals the simulator's own facts (services/simulator/src/analytics-truth.ts
// and the ground truth), and every statistic (difference, interval, p-value, decision) equals the
// one @cpi/analytics computes from those fact counts.
//
// The history starts 100 days before now, on the hour, and the simulator draws each minute from a
// stream derived from the seed and the minute: the facts (hence their noise) change from one hour
// to the next. So no assertion here rests on the noise — not the sign of a difference, not a
// significance decision, not a p-value threshold: each expected figure, its sign included, is
// recomputed from this run's facts. (That the planted effects are detectable is the simulator's
// own concern, tested over many seeds in its power tests.)

const HOUR = 3_600_000
const DAY = 24 * HOUR

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, each checked by the assertions
type Json = Record<string, any>

/** What the perception endpoint must count per CPI and group, from the facts alone. */
function perceptionTruth(facts: readonly Fact[], range: { from: number; to: number }, asOf: number) {
  const surveys = new Map<string, SurveyFact>()
  for (const fact of facts) if (fact.kind === 'survey') surveys.set(fact.subject, fact)
  const truth = new Map<string, { interactions: number; responded: number; csat: number[] }>()
  for (const outcome of groundTruth(facts, { asOf }).outcomes) {
    if (outcome.cpi === 'csat' || (outcome.state !== 'good' && outcome.state !== 'bad')) continue
    if (outcome.cohortAt < range.from || outcome.cohortAt >= range.to) continue
    const key = `${outcome.cpi} ${outcome.state === 'good' ? 'met' : 'missed'}`
    const row = truth.get(key) ?? { interactions: 0, responded: 0, csat: [0, 0, 0, 0, 0] }
    row.interactions++
    const survey = surveys.get(outcome.subject)
    if (survey) {
      row.responded++
      if (survey.csat !== undefined) row.csat[survey.csat - 1] = (row.csat[survey.csat - 1] ?? 0) + 1
    }
    truth.set(key, row)
  }
  return truth
}

describe('customer-centric analytics over the real engine, fed through the real broker', () => {
  it('links CPIs to KPIs, analyses the experiments as their facts show, joins surveys to outcomes and builds the index', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const events = await createTopic('analytics_events', 3)
    const groupId = uniqueName('processor')
    const designsDir = await mkdtemp(path.join(tmpdir(), 'cpi-designs-'))
    const designsFile = path.join(designsDir, 'experiments.json')
    await writeFile(
      designsFile,
      JSON.stringify([
        {
          id: 'fastquote-routing',
          minimumDetectableEffect: 0.1,
          baselines: { fast_quote: { cpi: 0.8, kpi: 0.25 } },
        },
      ]),
    )
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: events,
      CPI_DEAD_LETTER_TOPIC: await createTopic('analytics_dlq', 1),
      CPI_PROCESSOR_GROUP: groupId,
      CPI_IDLE_AFTER_MS: String(10 * 365 * DAY),
      CPI_SWEEP_INTERVAL_MS: '500',
      CPI_EXPERIMENTS_FILE: designsFile,
    })
    const registry = createMetricsRegistry({ service: 't' })
    const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
    const producer = new BatchingProducer(kafka, { logger })
    const http = createHttpServer(logger)
    const api = await startApi({ config, clickhouse, http, logger, kafka })
    const base = await http.listen({ port: 0, host: '127.0.0.1' })
    const get = async (route: string) => {
      const response = await fetch(`${base}${route}`)
      return { status: response.status, body: (await response.json()) as Json }
    }
    try {
      await processor.started
      await producer.connect()
      const start = Math.floor((Date.now() - 100 * DAY) / HOUR) * HOUR
      // The hour the facts are drawn for: with it, a run's figures can be reproduced.
      process.stdout.write(`[analytics] history from ${new Date(start).toISOString()}\n`)
      // Two experiments in two hours: a planted effect (B answers in 30 % of the time and its
      // customers accept 1.5× as often), then an A/A one.
      const planted = simulate(
        parseScenario({
          seed: 71,
          ratePerSecond: 3,
          malformedShare: 0,
          experiment: {
            id: 'fastquote-routing',
            variants: { A: 0.5, B: 0.5 },
            latencyFactor: { B: 0.3 },
            acceptanceFactor: { B: 1.5 },
          },
        }),
        { from: start, to: start + HOUR },
      )
      const control = simulate(
        parseScenario({
          seed: 72,
          ratePerSecond: 3,
          malformedShare: 0,
          experiment: { id: 'aa-check', variants: { A: 0.5, B: 0.5 } },
        }),
        { from: start + HOUR, to: start + 2 * HOUR },
      )
      // Then a minute of calls at the present, so every partition's watermark reaches now and the
      // 90-day follow-ups of the history are complete.
      const present = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 60_000
      const heartbeat = simulate(
        parseScenario({
          seed: 73,
          ratePerSecond: 1,
          malformedShare: 0,
          mix: { quote: 0, delivery: 0, ticket: 0, call: 1 },
          surveyShare: 0,
          orderShare: 0,
          churnShare: 0,
        }),
        { from: present, to: present + 60_000 },
      )
      const facts = [...planted.facts, ...control.facts]
      const all = [...planted.events, ...control.events].sort(
        (a, b) => a.arrival - b.arrival || a.id.localeCompare(b.id),
      )
      await sendAll([...all, ...heartbeat.events], kafkaSink(producer, events))
      const total = await topicSize(kafka, events)
      await expect
        .poll(() => committedTotal(kafka, groupId, events), { timeout: 180_000, interval: 300 })
        .toBe(total)
      // Everything is judged as of the slowest partition's watermark (R6), as the API does.
      // (Recorded a moment after the offsets are committed.)
      const slowest = async () => {
        const fresh = await get('/v1/freshness')
        return fresh.body.partitions.length === 3
          ? Math.min(...fresh.body.partitions.map((p: Json) => Date.parse(p.watermark)))
          : 0
      }
      await expect.poll(slowest, { timeout: 30_000, interval: 500 }).toBeGreaterThan(present)
      const asOf = await slowest()
      // A retired events topic's partition, its watermark long past: not the "now" of this topic's KPIs.
      await recordWatermarks(clickhouse, [
        { topic: 'retired-events', partition: 7, watermark: start, maxEventTime: start },
      ])
      const range = { from: start, to: start + 2 * HOUR }
      const query = `from=${new Date(range.from).toISOString()}&to=${new Date(range.to).toISOString()}`

      // CPI → KPI linkage equals the facts group by group, statistics included.
      const linkage = await get(`/v1/analytics/linkage?${query}`)
      expect(linkage.status, JSON.stringify(linkage.body)).toBe(200)
      expect(linkage.body.note).toMatch(/^Observational/)
      const link = (name: string) => linkage.body.links.find((candidate: Json) => candidate.name === name)
      const counts = (groups: Json[]) =>
        groups
          .filter((group) => group.trials > 0)
          .map(({ group, successes, trials }) => ({ group, successes, trials }))
      const quotes = quoteAcceptanceByBucket(facts, { ...range, asOf })
      expect(counts(link('quote_acceptance').groups)).toEqual(
        quotes.map(({ group, successes, trials }) => ({ group, successes, trials })),
      )
      expect(link('quote_acceptance').groups.map((g: Json) => g.group)).toEqual([
        '≤30s',
        '30s–5m',
        '5m–1h',
        '>1h',
        'never',
      ])
      const bucket = (name: string) => link('quote_acceptance').groups.find((g: Json) => g.group === name)
      expect(bucket('never').successes).toBe(0)
      // Each link's rates and comparisons (difference, interval, z, p) are those of its fact counts:
      // whichever way this hour's noise tips a difference, the product must report that way.
      const expectStatistics = (
        name: string,
        groups: string[],
        truth: readonly (Counts & { group: string })[],
      ) => {
        const expected = linkageOf(
          groups.map((group) => {
            const row = truth.find((candidate) => candidate.group === group)
            return { group, successes: row?.successes ?? 0, trials: row?.trials ?? 0 }
          }),
        )
        expect(link(name).groups.map((g: Json) => ({ group: g.group, rate: g.rate }))).toEqual(
          expected.groups.map((g) => ({ group: g.group, rate: g.rate })),
        )
        expect(link(name).comparisons).toEqual(expected.comparisons)
      }
      expectStatistics('quote_acceptance', ['≤30s', '30s–5m', '5m–1h', '>1h', 'never'], quotes)

      // The 90-day links, group by group, with their follow-up completeness.
      const expectGroups = (name: string, groups: string[], truth: FollowUpCounts[]) =>
        expect(link(name).groups.map((g: Json) => ({ ...g, rate: undefined }))).toEqual(
          groups.map((group) => {
            const row = truth.find((candidate) => candidate.group === group)
            return {
              group,
              successes: row?.successes ?? 0,
              trials: row?.trials ?? 0,
              followUpComplete: row?.followUpComplete ?? 0,
              rate: undefined,
            }
          }),
        )
      const repeatOrders = repeatOrderByDelivery(facts, { ...range, asOf })
      const churns = churnByResolution(facts, { ...range, asOf })
      expectGroups('repeat_order_90d', ['intact', 'broken'], repeatOrders)
      expectGroups('churn_90d', ['first_time', 'not_first_time'], churns)
      // The planted links (a broken delivery loses repeat orders, a failed resolution churns more)
      // are small against a few dozen orders and churns: this hour's difference may have either
      // sign, and must be the facts' — e.g. churn: rate(not_first_time) − rate(first_time).
      expectStatistics('repeat_order_90d', ['intact', 'broken'], repeatOrders)
      expectStatistics('churn_90d', ['first_time', 'not_first_time'], churns)
      const intact = link('repeat_order_90d').groups[0]
      expect(intact.followUpComplete).toBe(intact.trials)

      // Experiments: each arm equals the facts, and so does every comparison — difference,
      // interval, p-value, the horizon and the decision taken there — recomputed by
      // analyzeExperiment from the fact counts and the arms' outcomes in cohort order. An
      // experiment is "collecting" under a design that needs more interactions than the facts have.
      const arms = experimentArms(facts, { ...range, asOf })
      const accepted = new Map<string, boolean>()
      const assignment = new Map<string, { id: string; variant: string }>()
      for (const fact of facts)
        if (fact.kind === 'quote' && fact.experiment) {
          assignment.set(fact.subject, fact.experiment)
          accepted.set(
            fact.subject,
            fact.acceptedAt !== undefined && fact.acceptedAt <= Math.min(asOf, fact.startedAt + 30 * DAY),
          )
        }
      const ordered = groundTruth(facts, { asOf })
        .outcomes.filter((o) => o.cpi === 'fast_quote' && (o.state === 'good' || o.state === 'bad'))
        .sort(
          (x, y) => x.cohortAt - y.cohortAt || (x.subject < y.subject ? -1 : x.subject > y.subject ? 1 : 0),
        )
      /** The outcomes of one arm in cohort order. */
      const cohort = (id: string, variant: string) =>
        ordered.filter(
          (o) => assignment.get(o.subject)?.id === id && assignment.get(o.subject)?.variant === variant,
        )
      /** What the experiments endpoint must report for an experiment's fast_quote, from the facts. */
      const expectedAnalysis = (id: string, design: Partial<ExperimentDesign>) =>
        analyzeExperiment(
          arms
            .filter((arm) => arm.experiment === id)
            .map(({ variant, cpi, kpi }) => ({
              variant,
              cpi,
              kpi,
              sequence: {
                cpi: cohort(id, variant)
                  .map((o) => (o.state === 'good' ? '1' : '0'))
                  .join(''),
                kpi: cohort(id, variant)
                  .map((o) => (accepted.get(o.subject) ? '1' : '0'))
                  .join(''),
              },
            })),
          design,
        )
      const plantedDesign = {
        minimumDetectableEffect: 0.1,
        alpha: 0.05,
        power: 0.8,
        baselines: { cpi: 0.8, kpi: 0.25 },
      }
      const sized = await get(`/v1/analytics/experiments?${query}&mde=0.1`)
      expect(sized.status, JSON.stringify(sized.body)).toBe(200)
      expect(sized.body.experiments.map((e: Json) => e.id)).toEqual(['aa-check', 'fastquote-routing'])
      for (const experiment of sized.body.experiments) {
        const fastQuote = experiment.cpis.find((c: Json) => c.cpi === 'fast_quote')
        expect(fastQuote.kpi).toBe('quote accepted')
        expect(fastQuote.control).toBe('A')
        const truth = arms.filter((arm) => arm.experiment === experiment.id)
        expect(
          fastQuote.arms.map((arm: Json) => ({
            variant: arm.variant,
            cpi: { successes: arm.cpi.successes, trials: arm.cpi.trials },
            kpi: { successes: arm.kpi.successes, trials: arm.kpi.trials },
          })),
        ).toEqual(truth.map(({ variant, cpi, kpi }) => ({ variant, cpi, kpi })))
        // Only quotes carry the experiment.
        expect(experiment.cpis.map((c: Json) => c.cpi)).toEqual(['fast_quote'])
        // Rates, comparisons and decisions: those of the fact counts, under the design that applies
        // (the registered one for the planted experiment, the request's mde 0.1 for the A/A one).
        const expected = expectedAnalysis(
          experiment.id,
          experiment.id === 'fastquote-routing'
            ? plantedDesign
            : { minimumDetectableEffect: 0.1, alpha: 0.05, power: 0.8 },
        )
        expect(fastQuote.arms).toEqual(expected.arms)
        expect(fastQuote.comparisons).toEqual(expected.comparisons)
      }
      // The planted experiment has a registered design (mde 0.1 from baselines 0.8 and 0.25): the
      // request's mde does not apply, and the decision rests on exactly the first planned
      // interactions of each arm in cohort order — recomputed here from the facts.
      const plantedExperiment = sized.body.experiments[1]
      expect(plantedExperiment).toMatchObject({ designSource: 'registered', conflictingAssignments: 0 })
      const plantedQuote = plantedExperiment.cpis[0]
      expect(plantedQuote.design).toMatchObject({
        minimumDetectableEffect: 0.1,
        baselines: { cpi: 0.8, kpi: 0.25 },
      })
      const [armA, armB] = arms.filter((arm) => arm.experiment === 'fastquote-routing')
      for (const metric of ['cpi', 'kpi'] as const) {
        const comparison = plantedQuote.comparisons.find((c: Json) => c.metric === metric)
        const required = sampleSizePerArm({
          baseline: metric === 'cpi' ? 0.8 : 0.25,
          minimumDetectableEffect: 0.1,
        })
        // Each arm has about 1 900 quotes with a known outcome, the design asks for a few hundred:
        // the facts reach the horizon by dozens of standard deviations (checked on the facts first).
        if (!armA || !armB) throw new Error('the planted experiment has no A and B arms in the facts')
        expect(Math.min(armA[metric].trials, armB[metric].trials)).toBeGreaterThanOrEqual(required)
        expect(comparison).toMatchObject({
          variant: 'B',
          versus: 'A',
          requiredPerArm: required,
          plannedFromBaseline: true,
          horizonReached: true,
        })
        // The whole-arm test: B − A of the fact counts, whatever its sign this hour.
        const whole = twoProportionTest(armA[metric], armB[metric], 0.95)
        expect(comparison.difference).toBe(whole.difference)
        expect(comparison.interval).toEqual(whole.interval)
        expect(comparison.pValue).toBeCloseTo(whole.pValue, 12)
        // The decision rests on the first `required` of each arm: significant exactly when the facts'
        // test there says so (the planted effect makes that likely, not certain).
        const first = (variant: string) => {
          const arm = cohort('fastquote-routing', variant).slice(0, required)
          const successes = arm.filter((o) =>
            metric === 'cpi' ? o.state === 'good' : accepted.get(o.subject),
          ).length
          return { successes, trials: arm.length }
        }
        const atHorizon = twoProportionTest(first('A'), first('B'))
        expect(comparison.atHorizon).toMatchObject({ perArm: required, a: first('A'), b: first('B') })
        expect(comparison.atHorizon.difference).toBe(atHorizon.difference)
        expect(comparison.atHorizon.pValue).toBeCloseTo(atHorizon.pValue, 12)
        expect(comparison.decision).toBe(atHorizon.pValue < 0.05 ? 'significant' : 'not_significant')
      }
      // The A/A experiment has no registered design: the request's applies, and one that needs
      // more interactions than there are keeps it collecting.
      expect(sized.body.experiments[0].designSource).toBe('request')
      const strict = await get(`/v1/analytics/experiments?${query}&experiment=aa-check&mde=0.005`)
      expect(strict.body.experiments.map((e: Json) => e.id)).toEqual(['aa-check'])
      const strictExpected = expectedAnalysis('aa-check', {
        minimumDetectableEffect: 0.005,
        alpha: 0.05,
        power: 0.8,
      })
      expect(strict.body.experiments[0].cpis[0].comparisons).toEqual(strictExpected.comparisons)
      // An mde of 0.005 needs tens of thousands per arm, the facts have about 1 900: collecting
      // (checked on the facts too, so the test cannot drift into the decided case unnoticed).
      expect(strictExpected.comparisons.map((c) => c.decision)).toEqual(['collecting', 'collecting'])
      for (const comparison of strict.body.experiments[0].cpis[0].comparisons) {
        expect(comparison.decision).toBe('collecting')
        expect(comparison.atHorizon).toBeNull()
        expect(comparison.remainingPerArm).toBeGreaterThan(0)
      }
      expect(strict.body.design.rule).toMatch(/^Fixed horizon/)

      // Perception vs performance: the surveys joined to their interactions' outcomes.
      const perception = await get(`/v1/analytics/perception?${query}`)
      expect(perception.status, JSON.stringify(perception.body)).toBe(200)
      const perceived = perceptionTruth(facts, range, asOf)
      expect(perception.body.cpis.map((c: Json) => c.cpi)).toEqual(
        api.catalog.filter((d) => d.shape !== 'survey').map((d) => d.name),
      )
      for (const cpi of perception.body.cpis) {
        for (const group of ['met', 'missed'] as const) {
          const truth = perceived.get(`${cpi.cpi} ${group}`) ?? {
            interactions: 0,
            responded: 0,
            csat: [0, 0, 0, 0, 0],
          }
          expect({
            cpi: cpi.cpi,
            group,
            interactions: cpi[group].interactions,
            responses: cpi[group].responses,
          }).toEqual({
            cpi: cpi.cpi,
            group,
            interactions: truth.interactions,
            responses: truth.responded,
          })
          expect(cpi[group].csat.satisfied).toBe((truth.csat[3] ?? 0) + (truth.csat[4] ?? 0))
          expect(cpi[group].csat.responses).toBe(truth.csat.reduce((sum, n) => sum + n, 0))
        }
        // The CSAT gap (top-two-box share, met − missed) is the two-proportion test of the facts'
        // counts, whatever its sign and p-value this hour; none when a group has no CSAT response.
        const satisfaction = (group: 'met' | 'missed'): Counts => {
          const csat = perceived.get(`${cpi.cpi} ${group}`)?.csat ?? [0, 0, 0, 0, 0]
          return {
            successes: (csat[3] ?? 0) + (csat[4] ?? 0),
            trials: csat.reduce((sum, n) => sum + n, 0),
          }
        }
        const met = satisfaction('met')
        const missed = satisfaction('missed')
        if (met.trials > 0 && missed.trials > 0) {
          const { difference, interval, z, pValue } = twoProportionTest(missed, met)
          expect(cpi.gap.csat, cpi.cpi).toEqual({ difference, interval, z, pValue })
        } else expect(cpi.gap.csat, cpi.cpi).toBeNull()
      }
      const quotePerception = perception.body.cpis.find((c: Json) => c.cpi === 'fast_quote')

      // The shared index over 30-day windows: the window holding the history equals the weighted
      // mean of the ground truth's ratios.
      const index = await get('/v1/analytics/index?window=30d')
      expect(index.status, JSON.stringify(index.body)).toBe(200)
      const window = index.body.series.find(
        (w: Json) => Date.parse(w.windowStart) <= start && start < Date.parse(w.windowStart) + 30 * DAY,
      )
      const windowStart = Date.parse(window.windowStart)
      const truthTotals = new Map<string, { good: number; total: number }>()
      for (const outcome of groundTruth(facts, { asOf }).outcomes) {
        if (outcome.state !== 'good' && outcome.state !== 'bad') continue
        if (outcome.cohortAt < windowStart || outcome.cohortAt >= windowStart + 30 * DAY) continue
        const row = truthTotals.get(outcome.cpi) ?? { good: 0, total: 0 }
        row.total++
        if (outcome.state === 'good') row.good++
        truthTotals.set(outcome.cpi, row)
      }
      let weighted = 0
      let weights = 0
      for (const definition of api.catalog) {
        const row = truthTotals.get(definition.name)
        if (!row || row.total === 0 || definition.indexWeight === 0) continue
        weighted += definition.indexWeight * (row.good / row.total)
        weights += definition.indexWeight
      }
      expect(window.value).toBeCloseTo((100 * weighted) / weights, 9)
      // Its interval and target: those of the same counts.
      const expectedIndex = customerIndex(
        api.catalog
          .filter((definition) => definition.indexWeight > 0)
          .map((definition) => ({
            cpi: definition.name,
            weight: definition.indexWeight,
            good: truthTotals.get(definition.name)?.good ?? 0,
            total: truthTotals.get(definition.name)?.total ?? 0,
            target: definition.objective.target,
          })),
      )
      expect(window.lower).toBeCloseTo(expectedIndex.lower ?? Number.NaN, 9)
      expect(window.upper).toBeCloseTo(expectedIndex.upper ?? Number.NaN, 9)
      expect(window.target).toBeCloseTo(expectedIndex.target ?? Number.NaN, 9)
      expect(index.body.weights.fast_quote).toBe(0.15)

      // Scorecards: every team, its CPIs, each with its leading and lagging indicators.
      const scorecards = await get('/v1/analytics/scorecards?window=30d')
      expect(scorecards.status, JSON.stringify(scorecards.body)).toBe(200)
      expect(scorecards.body.teams.map((t: Json) => t.team)).toEqual(
        [...new Set(api.catalog.map((d) => d.owner))].sort(),
      )
      const support = scorecards.body.teams.find((t: Json) => t.team === 'support')
      const ftr = support.cpis.find((c: Json) => c.name === 'first_time_resolution')
      expect(ftr.leading.map((c: Json) => c.name)).toEqual(['first_reply_2h'])
      expect(ftr.lagging.map((c: Json) => c.name)).toEqual(['csat'])
      const reply = support.cpis.find((c: Json) => c.name === 'first_reply_2h')
      expect(reply.lagging.map((c: Json) => c.name)).toEqual(['first_time_resolution', 'csat'])

      // The figures, for the record.
      const rate = (g: Json) => `${g.group} ${g.successes}/${g.trials}`
      const comparisonsOf = (cpi: Json) =>
        cpi.comparisons
          .map(
            (c: Json) =>
              `${c.metric} ${c.variant}−${c.versus} ${c.difference.toFixed(4)} p=${c.pValue.toPrecision(3)} ${c.decision}`,
          )
          .join('; ')
      process.stdout.write(
        [
          `[analytics] ${linkage.body.links.map((l: Json) => `${l.name}: ${l.groups.map(rate).join(', ')}`).join(' | ')}`,
          ...sized.body.experiments.map(
            (e: Json) => `[analytics] ${e.id} (mde 0.1): ${comparisonsOf(e.cpis[0])}`,
          ),
          `[analytics] fast_quote CSAT met ${quotePerception.met.csat.satisfied}/${quotePerception.met.csat.responses} vs missed ${quotePerception.missed.csat.satisfied}/${quotePerception.missed.csat.responses}, gap ${quotePerception.gap.csat?.difference.toFixed(3)} p=${quotePerception.gap.csat?.pValue.toPrecision(3)}; index ${window.value.toFixed(2)} [${window.lower.toFixed(2)}, ${window.upper.toFixed(2)}]`,
          '',
        ].join('\n'),
      )

      // Bad parameters are a 400 naming each one.
      const bad = await get('/v1/analytics/experiments?mde=2&alpha=x&color=red')
      expect(bad.status).toBe(400)
      expect(bad.body.details.map((d: Json) => d.parameter).sort()).toEqual(['alpha', 'color', 'mde'])
    } finally {
      api.stop()
      await http.close()
      await producer.disconnect()
      await processor.stop()
      await rm(designsDir, { recursive: true, force: true })
    }
  })
})
