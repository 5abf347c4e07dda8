import { startAlerter } from '@cpi/alerter'
import { listAlerts, listAlertTransitions } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { BatchingProducer } from '@cpi/kafka'
import { startProcessor } from '@cpi/processor'
import { createMetricsRegistry } from '@cpi/runtime'
import { kafkaSink, sendAll } from '@cpi/simulator'
import { describe, expect } from 'vitest'
import { dailyObjectiveCatalog, isWebPage, MINUTE, plantedDrop } from './support/alert-scenario.ts'
import { testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { committedTotal } from './support/ledger.ts'
import { readWholeTopic, topicSize } from './support/topic-reader.ts'
import { startWebhookReceiver } from './support/webhook-receiver.ts'

describe('alerting on a planted drop, through the real broker and engine', () => {
  it('pages within the expected detection time, notifies webhook, Slack, topic and table once, resolves after recovery, survives a restart', async ({
    kafka,
    clickhouse,
    createTopic,
    logger,
  }) => {
    const events = await createTopic('alerting_events', 3)
    const deadLetter = await createTopic('alerting_dlq', 1)
    const alertsTopic = uniqueName('alerts')
    const groupId = uniqueName('processor')
    // The first two webhook calls fail: the notification is retried with backoff.
    const receiver = await startWebhookReceiver({ failFirst: 2, failPath: '/generic' })
    const config = loadConfig({
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: events,
      CPI_DEAD_LETTER_TOPIC: deadLetter,
      CPI_PROCESSOR_GROUP: groupId,
      // Event time drives everything: a partition's clock stays on its latest event.
      CPI_IDLE_AFTER_MS: String(10 * 365 * 24 * 3_600_000),
      CPI_SWEEP_INTERVAL_MS: '500',
      // fast_quote with a one-day objective: page tier 6× over 12 min and 1 min (14.4× cannot fire at 90 %).
      CPI_CATALOG_FILES: dailyObjectiveCatalog,
      CPI_ALERTS_TOPIC: alertsTopic,
      CPI_ALERT_INTERVAL_MS: '300',
      CPI_ALERT_PENDING_MS: String(MINUTE),
      CPI_ALERT_LOOKBACK_MS: String(4 * 60 * MINUTE),
      // The replay's partitions stand still between the two sends (event time only): not a stall here.
      CPI_ALERT_STALL_MS: String(60 * MINUTE),
      CPI_ALERT_WEBHOOK_URLS: receiver.url('/generic'),
      CPI_ALERT_SLACK_WEBHOOK_URLS: receiver.url('/slack'),
      CPI_PUBLIC_URL: 'http://cpi.example.test',
    })
    const registry = createMetricsRegistry({ service: 't' })
    const processor = await startProcessor({ config, kafka, clickhouse, registry, logger })
    const producer = new BatchingProducer(kafka, { logger })
    let alerter = await startAlerter({ config, clickhouse, kafka, registry, logger })
    try {
      await processor.started
      await producer.connect()
      expect(alerter.warnings.fast_quote?.join()).toMatch(/page tier 14\.4× can never fire at target 90%/)

      const { simulation, start, dropFrom, dropTo } = plantedDrop()
      const sendUpTo = async (cutoff: number, after = Number.NEGATIVE_INFINITY) => {
        await sendAll(
          simulation.events.filter((event) => event.time > after && event.time <= cutoff),
          kafkaSink(producer, events),
        )
        const total = await topicSize(kafka, events)
        await expect
          .poll(() => committedTotal(kafka, groupId, events), { timeout: 180_000, interval: 500 })
          .toBe(total)
      }

      // First hour: the drop starts, the page fires.
      const firstCut = start + 60 * MINUTE
      await sendUpTo(firstCut)
      await expect
        .poll(
          async () =>
            (await listAlerts(clickhouse, { states: ['firing'] })).filter((a) => isWebPage(a.labels)).length,
          { timeout: 120_000, interval: 300 },
        )
        .toBe(1)
      const [page] = (await listAlerts(clickhouse, { states: ['firing'] })).filter((a) => isWebPage(a.labels))
      if (!page) throw new Error('unreachable')
      // Closed form: the 12-minute window needs ≥ 60 % errors, about 7.2 min into a ~100 % drop
      // (plus up to a minute of step and the 30 s deadline), then 1 minute pending.
      const detection = (page.firedAt ?? 0) - dropFrom
      const detected = `fired ${(detection / MINUTE).toFixed(2)} min after the drop started`
      expect(detection, detected).toBeGreaterThanOrEqual(7 * MINUTE)
      expect(detection, detected).toBeLessThanOrEqual(11 * MINUTE)
      expect(page.value).toBeGreaterThanOrEqual(6)
      expect(page.annotations.dashboard).toBe(
        'http://cpi.example.test/?cpi=fast_quote&by=channel&segment=web',
      )
      expect(page.annotations.runbook).toBe('http://cpi.example.test/runbook#cpiburnrate')
      expect(page.annotations.summary).toMatch(/Fast quote \(channel=web\)/)

      // The webhook got the page after two failed attempts (1 s then 2 s of backoff).
      await expect
        .poll(() => receiver.accepted('/generic').filter((r) => r.body.status === 'firing').length, {
          timeout: 30_000,
          interval: 200,
        })
        .toBeGreaterThanOrEqual(1)
      expect(
        receiver.requests.filter((r) => r.path === '/generic' && r.status === 500),
        'the two planted webhook failures',
      ).toHaveLength(2)

      // Restart the alerter mid-incident: it continues from its checkpoint, sends nothing twice.
      await alerter.stop()
      alerter = await startAlerter({ config, clickhouse, kafka, registry, logger })

      // Second hour: recovery; the page resolves.
      await sendUpTo(start + 120 * MINUTE, firstCut)
      await expect
        .poll(
          async () =>
            (await listAlerts(clickhouse, {})).find((a) => a.fingerprint === page.fingerprint)?.state,
          {
            timeout: 120_000,
            interval: 300,
          },
        )
        .toBe('resolved')
      const resolved = (await listAlerts(clickhouse, {})).find((a) => a.fingerprint === page.fingerprint)
      expect((resolved?.resolvedAt ?? 0) - dropTo).toBeGreaterThanOrEqual(0)
      expect((resolved?.resolvedAt ?? 0) - dropTo).toBeLessThanOrEqual(5 * MINUTE)
      await expect.poll(() => alerter.pendingDeliveries(), { timeout: 30_000, interval: 200 }).toBe(0)

      // The table holds the lifecycle: pending → firing → resolved, each once.
      const lifecycle = (await listAlertTransitions(clickhouse))
        .filter((t) => t.fingerprint === page.fingerprint)
        .map((t) => `${t.previousState}→${t.state}`)
      expect(lifecycle).toEqual(['inactive→pending', 'pending→firing', 'firing→resolved'])

      // No alert for a healthy CPI, no page for any other fast_quote segment.
      const all = await listAlertTransitions(clickhouse)
      expect(all.filter((t) => t.labels.cpi === 'phone_answer_20s')).toEqual([])
      expect(
        all.filter((t) => t.labels.severity === 'page' && !isWebPage(t.labels)).map((t) => t.labels),
      ).toEqual([])

      // Each receiver got the page's firing and resolved notification exactly once.
      const mentions = (requests: { body: Record<string, unknown>; headers: Record<string, unknown> }[]) =>
        requests.filter((r) => JSON.stringify(r.body).includes(page.fingerprint))
      const generic = mentions(receiver.accepted('/generic'))
      expect(generic.map((r) => r.body.status)).toEqual(['firing', 'resolved'])
      const keys = receiver.accepted('/generic').map((r) => r.headers['idempotency-key'])
      expect(new Set(keys).size).toBe(keys.length)
      const slack = receiver
        .accepted('/slack')
        .filter((r) => / page — /.test(String(r.body.text)) && JSON.stringify(r.body).includes('segment=web'))
      expect(slack.map((r) => String(r.body.text).slice(0, 10))).toEqual(['[FIRING:1]', '[RESOLVED:'])
      const slackKeys = receiver.accepted('/slack').map((r) => r.headers['idempotency-key'])
      expect(new Set(slackKeys).size).toBe(slackKeys.length)
      const published = (await readWholeTopic(kafka, alertsTopic)).filter((m) =>
        m.value.includes(page.fingerprint),
      )
      expect(published.map((m) => JSON.parse(m.value).status)).toEqual(['firing', 'resolved'])
      expect(published.map((m) => m.headers['idempotency-key'])).toEqual(
        generic.map((r) => r.headers['idempotency-key']),
      )
    } finally {
      await alerter.stop()
      await producer.disconnect()
      await processor.stop()
      await receiver.close()
    }
  })
})
