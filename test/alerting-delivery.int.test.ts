import { type Alerter, startAlerter } from '@cpi/alerter'
import {
  type ClickHouse,
  followCoarserGrains,
  insertOutcomes,
  listAlertTransitions,
  minutesOf,
  type OutcomeRow,
  recordWatermarks,
  refreshRollups,
  upsertSilence,
} from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { loadCatalog } from '@cpi/cpi-core'
import { createMetricsRegistry } from '@cpi/runtime'
import { describe, expect } from 'vitest'
import { dailyObjectiveCatalog, MINUTE } from './support/alert-scenario.ts'
import {
  clickhouseSettingsFor,
  openMigratedClickHouse,
  testEnvironment,
  uniqueName,
} from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startWebhookReceiver } from './support/webhook-receiver.ts'

// No lost and no replayed pages: the alerter against the real engine (and the real broker for
// its topic), rounds driven by hand. Outcomes and watermarks are written the way the processor
// writes them, so each test controls exactly which minute an alert fires in.

const catalog = await loadCatalog([dailyObjectiveCatalog])
/** A minute an hour back: the alerts' event time (silences and deliveries run on the wall clock). */
const T = Math.floor(Date.now() / MINUTE) * MINUTE - 60 * MINUTE

/** A database of the test's own: each test starts without alerts, checkpoint or deliveries. */
async function ownDatabase(): Promise<ClickHouse> {
  return openMigratedClickHouse(clickhouseSettingsFor(uniqueName('alerting')))
}

async function dropDatabase(clickhouse: ClickHouse) {
  await clickhouse.writer.command({ query: `DROP DATABASE IF EXISTS ${clickhouse.database}` })
  await clickhouse.close()
}

/** 30 outcomes a minute of fast_quote (web) over [from, to), all `state`, and the events topic's watermark at `to`. */
async function plant(clickhouse: ClickHouse, topic: string, from: number, to: number, state: 'good' | 'bad') {
  const rows: OutcomeRow[] = []
  for (let minute = from; minute < to; minute += MINUTE)
    for (let i = 0; i < 30; i++)
      rows.push({
        cpi: 'fast_quote',
        definition_version: 2,
        subject: `Q-${minute}-${i}`,
        cohort_at: new Date(minute + i * 1000).toISOString(),
        state,
        status: 'final',
        latency_ms: state === 'good' ? 2000 : 90_000,
        open: 0,
        segments: { channel: 'web' },
        revisit_at: null,
        watermark: new Date(to).toISOString(),
        kafka_partition: 0,
        version: to,
      })
  await insertOutcomes(clickhouse, rows)
  await refreshRollups(clickhouse, minutesOf(rows))
  await followCoarserGrains(clickhouse, undefined)
  await recordWatermarks(
    clickhouse,
    [0, 1, 2].map((partition) => ({ topic, partition, watermark: to, maxEventTime: to })),
  )
}

function configFor(topic: string, env: Record<string, string>) {
  return loadConfig({
    KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
    CPI_EVENTS_TOPIC: topic,
    CPI_ALERTS_TOPIC: uniqueName('alerts'),
    // Only the test's own ticks evaluate.
    CPI_ALERT_INTERVAL_MS: String(3_600_000),
    CPI_ALERT_PENDING_MS: '0',
    CPI_ALERT_LOOKBACK_MS: String(15 * MINUTE),
    CPI_ALERT_DELIVERY_ATTEMPTS: '1',
    ...env,
  })
}

const firing = (requests: { body: Record<string, unknown> }[]) =>
  requests.filter((r) => r.body.status === 'firing' || /^\[FIRING/.test(String(r.body.text)))

describe('no lost or replayed pages', () => {
  it('a ClickHouse error in the middle of a round loses no transition: memory is unchanged and the next round records and notifies it', async ({
    kafka,
    logger,
  }) => {
    const clickhouse = await ownDatabase()
    const receiver = await startWebhookReceiver()
    const topic = uniqueName('events')
    const config = configFor(topic, { CPI_ALERT_WEBHOOK_URLS: receiver.url('/generic') })
    const registry = createMetricsRegistry({ service: 't' })
    let alerter: Alerter | undefined
    const rename = (from: string, to: string) =>
      clickhouse.writer.command({
        query: `RENAME TABLE ${clickhouse.database}.${from} TO ${clickhouse.database}.${to}`,
      })
    try {
      await plant(clickhouse, topic, T - 30 * MINUTE, T, 'bad')
      alerter = await startAlerter({ config, clickhouse, kafka, registry, logger, catalog })

      // Round 1: recording the transitions fails (the table is gone for a moment).
      await rename('alerts', 'alerts_away')
      await alerter.tick()
      await rename('alerts_away', 'alerts')
      // Round 2: the transitions are recorded, but the checkpoint write after them fails.
      await rename('alerter_checkpoints', 'checkpoints_away')
      await alerter.tick()
      await rename('checkpoints_away', 'alerter_checkpoints')
      expect(receiver.requests, 'nothing is sent before a round is fully recorded').toEqual([])

      // Round 3 retries the same transitions: recorded once, notified once.
      await alerter.tick()
      const transitions = await listAlertTransitions(clickhouse)
      const pages = transitions.filter((t) => t.labels.severity === 'page')
      expect(pages.map((t) => `${t.labels.dimension}:${t.previousState}→${t.state}:${t.seq}`).sort()).toEqual(
        ['all:inactive→firing:1', 'channel:inactive→firing:1'],
      )
      await expect.poll(() => alerter?.pendingDeliveries(), { timeout: 30_000, interval: 100 }).toBe(0)
      const pageNotifications = firing(receiver.requests).filter((r) =>
        JSON.stringify(r.body.commonLabels).includes('"severity":"page"'),
      )
      expect(pageNotifications).toHaveLength(1)
      expect(pageNotifications[0]?.body.alerts).toHaveLength(2)

      // Another round changes nothing and sends nothing.
      const sent = receiver.requests.length
      await alerter.tick()
      expect(receiver.requests.length).toBe(sent)
    } finally {
      await alerter?.stop()
      await receiver.close()
      await dropDatabase(clickhouse)
    }
  })

  it('rotating a webhook URL, a Slack URL or adding a receiver sends no history again; new notifications reach every receiver', async ({
    kafka,
    logger,
  }) => {
    const clickhouse = await ownDatabase()
    const receiver = await startWebhookReceiver()
    const topic = uniqueName('events')
    const registry = createMetricsRegistry({ service: 't' })
    let alerter: Alerter | undefined
    try {
      await plant(clickhouse, topic, T - 30 * MINUTE, T, 'bad')
      const before = configFor(topic, {
        CPI_ALERT_WEBHOOK_URLS: receiver.url('/hook-a'),
        CPI_ALERT_SLACK_WEBHOOK_URLS: receiver.url('/slack-a'),
      })
      alerter = await startAlerter({ config: before, clickhouse, kafka, registry, logger, catalog })
      await alerter.tick()
      await expect.poll(() => alerter?.pendingDeliveries(), { timeout: 30_000, interval: 100 }).toBe(0)
      expect(firing(receiver.accepted('/hook-a')).length).toBeGreaterThan(0)
      expect(firing(receiver.accepted('/slack-a')).length).toBe(firing(receiver.accepted('/hook-a')).length)
      await alerter.stop()

      // Both URLs rotated in place, and a second webhook added.
      const after = configFor(topic, {
        CPI_ALERTS_TOPIC: before.alerter.topic,
        CPI_ALERT_WEBHOOK_URLS: `${receiver.url('/hook-b')},${receiver.url('/hook-new')}`,
        CPI_ALERT_SLACK_WEBHOOK_URLS: receiver.url('/slack-b'),
      })
      alerter = await startAlerter({ config: after, clickhouse, kafka, registry, logger, catalog })
      expect(alerter.pendingDeliveries(), 'nothing owed after the restart').toBe(0)
      await alerter.tick()
      await alerter.tick()
      const resent = receiver.requests.filter((r) => ['/hook-b', '/hook-new', '/slack-b'].includes(r.path))
      expect(
        resent.map((r) => `${r.path} ${r.body.status ?? String(r.body.text).slice(0, 10)}`),
        'history resent',
      ).toEqual([])

      // The recovery is new: every receiver configured now is told, once.
      await plant(clickhouse, topic, T, T + 5 * MINUTE, 'good')
      await alerter.tick()
      await expect.poll(() => alerter?.pendingDeliveries(), { timeout: 30_000, interval: 100 }).toBe(0)
      for (const path of ['/hook-b', '/hook-new', '/slack-b']) {
        const got = receiver.accepted(path)
        expect(got.length, path).toBeGreaterThan(0)
        expect(firing(got), path).toEqual([])
      }
      expect(receiver.accepted('/hook-b').length).toBe(receiver.accepted('/hook-new').length)
      expect(receiver.requests.filter((r) => r.path.endsWith('-a')).length).toBe(
        2 * firing(receiver.accepted('/hook-a')).length,
      )
    } finally {
      await alerter?.stop()
      await receiver.close()
      await dropDatabase(clickhouse)
    }
  })

  it('an alert still firing when its silence ends is notified then, once, and not again after a restart', async ({
    kafka,
    logger,
  }) => {
    const clickhouse = await ownDatabase()
    const receiver = await startWebhookReceiver()
    const topic = uniqueName('events')
    const config = configFor(topic, { CPI_ALERT_WEBHOOK_URLS: receiver.url('/generic') })
    const registry = createMetricsRegistry({ service: 't' })
    let alerter: Alerter | undefined
    try {
      await plant(clickhouse, topic, T - 30 * MINUTE, T, 'bad')
      const silenceEnds = Date.now() + 3000
      await upsertSilence(clickhouse, {
        id: 'maintenance',
        matchers: [{ name: 'cpi', value: 'fast_quote' }],
        startsAt: Date.now() - 1000,
        endsAt: silenceEnds,
        createdBy: 'test',
        comment: 'known incident',
      })
      alerter = await startAlerter({ config, clickhouse, kafka, registry, logger, catalog })
      await alerter.tick()
      const silenced = await listAlertTransitions(clickhouse)
      expect(silenced.filter((t) => t.state === 'firing').length).toBeGreaterThan(0)
      expect(silenced.every((t) => t.silencedBy.join() === 'maintenance')).toBe(true)
      await alerter.tick()
      expect(receiver.requests, 'silenced: nobody is told').toEqual([])

      // The silence ends while the alerts still fire: they are notified at the next round.
      await new Promise((resolve) => setTimeout(resolve, silenceEnds - Date.now() + 200))
      await alerter.tick()
      await expect.poll(() => alerter?.pendingDeliveries(), { timeout: 30_000, interval: 100 }).toBe(0)
      const notified = firing(receiver.accepted('/generic'))
      expect(notified.map((r) => (r.body.commonLabels as Record<string, string>).severity).sort()).toEqual([
        'page',
        'ticket',
      ])
      const firingNow = silenced.filter((t) => t.state === 'firing').map((t) => t.fingerprint)
      const told = notified.flatMap((r) =>
        (r.body.alerts as { fingerprint: string }[]).map((a) => a.fingerprint),
      )
      expect(told.sort()).toEqual([...firingNow].sort())

      // Later rounds and a restart send nothing more.
      await alerter.tick()
      await alerter.stop()
      alerter = await startAlerter({ config, clickhouse, kafka, registry, logger, catalog })
      expect(alerter.pendingDeliveries()).toBe(0)
      await alerter.tick()
      expect(receiver.requests.length).toBe(notified.length)
    } finally {
      await alerter?.stop()
      await receiver.close()
      await dropDatabase(clickhouse)
    }
  })
})
