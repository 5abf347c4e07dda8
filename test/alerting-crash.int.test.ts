import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { listAlertTransitions } from '@cpi/clickhouse'
import { BatchingProducer } from '@cpi/kafka'
import { kafkaSink, sendAll } from '@cpi/simulator'
import { describe, expect } from 'vitest'
import { dailyObjectiveCatalog, isWebPage, MINUTE, plantedDrop } from './support/alert-scenario.ts'
import { freePort, openMigratedClickHouse, testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { readWholeTopic } from './support/topic-reader.ts'
import { startWebhookReceiver } from './support/webhook-receiver.ts'

const main = path.resolve(import.meta.dirname, '../services/all-in-one/src/main.ts')

// Its own file: the all-in-one child owns the embedded engine's data directory while it runs;
// this process opens it only after the child is gone.
describe('alerting survives a crash', () => {
  it('the all-in-one process SIGKILLed right after the page went out: after a restart no alert is lost, nothing owed is unsent, a resend carries the same idempotency key', async ({
    kafka,
    createTopic,
    clickhouseSettings,
    logger,
  }) => {
    const events = await createTopic('crash_events', 3)
    const alertsTopic = uniqueName('crash_alerts')
    const receiver = await startWebhookReceiver()
    const port = await freePort()
    const env = {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'warn',
      CPI_SIMULATOR: 'off',
      CPI_DATA_DIR: path.join(tmpdir(), uniqueName('cpi-data')),
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: events,
      CPI_DEAD_LETTER_TOPIC: await createTopic('crash_dlq', 1),
      CPI_PROCESSOR_GROUP: uniqueName('processor'),
      CLICKHOUSE_DATABASE: clickhouseSettings.database,
      ...(clickhouseSettings.kind === 'http'
        ? {
            CLICKHOUSE_URL: clickhouseSettings.url,
            CLICKHOUSE_USER: clickhouseSettings.username,
            CLICKHOUSE_PASSWORD: clickhouseSettings.password,
          }
        : { CLICKHOUSE_PATH: clickhouseSettings.path }),
      CPI_IDLE_AFTER_MS: String(10 * 365 * 24 * 3_600_000),
      CPI_CATALOG_FILES: dailyObjectiveCatalog,
      CPI_ALERTS_TOPIC: alertsTopic,
      CPI_ALERT_INTERVAL_MS: '300',
      CPI_ALERT_PENDING_MS: String(MINUTE),
      CPI_ALERT_LOOKBACK_MS: String(4 * 60 * MINUTE),
      // The replay's partitions stand still between the two sends (event time only): not a stall here.
      CPI_ALERT_STALL_MS: String(60 * MINUTE),
      CPI_ALERT_WEBHOOK_URLS: receiver.url('/generic'),
      CPI_ALERT_SLACK_WEBHOOK_URLS: receiver.url('/slack'),
    }
    const children: ChildProcess[] = []
    const start = () => {
      const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'ignore', 'inherit'] })
      children.push(child)
      return child
    }
    const producer = new BatchingProducer(kafka, { logger })
    const { simulation, start: from } = plantedDrop(11)
    const firstCut = from + 60 * MINUTE
    const pageNotifications = (status: string) =>
      receiver.requests.filter(
        (r) =>
          r.path === '/generic' &&
          r.body.status === status &&
          (r.body.alerts as { labels: Record<string, string> }[]).some((alert) => isWebPage(alert.labels)),
      )
    try {
      await producer.connect()
      await sendAll(
        simulation.events.filter((event) => event.time <= firstCut),
        kafkaSink(producer, events),
      )
      const first = start()
      await expect
        .poll(() => pageNotifications('firing').length, { timeout: 120_000, interval: 20 })
        .toBeGreaterThan(0)
      // Killed the moment the webhook has the page: Slack, the topic and the delivery records may
      // or may not have happened yet.
      first.kill('SIGKILL')
      await once(first, 'exit')

      await sendAll(
        simulation.events.filter((event) => event.time > firstCut),
        kafkaSink(producer, events),
      )
      const second = start()
      await expect
        .poll(() => pageNotifications('resolved').length, { timeout: 180_000, interval: 200 })
        .toBe(1)
      // Let the rest of the round's deliveries finish, then stop cleanly.
      await new Promise((resolve) => setTimeout(resolve, 2000))
      second.kill('SIGTERM')
      await once(second, 'exit')
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
      await producer.disconnect()
      await receiver.close()
    }

    const clickhouse = await openMigratedClickHouse(clickhouseSettings)
    try {
      const transitions = await listAlertTransitions(clickhouse)
      const page = transitions.filter((t) => isWebPage(t.labels))
      // One alert, its whole lifecycle once, across the crash.
      expect(page.map((t) => `${t.previousState}→${t.state}`)).toEqual([
        'inactive→pending',
        'pending→firing',
        'firing→resolved',
      ])
      // Every notification recorded as owed reached every receiver: generic, Slack and the topic.
      const owed = transitions.filter((t) => t.notify && t.silencedBy.length === 0)
      const result = await clickhouse.reader.query({
        query: `SELECT receiver, idempotency_key, outcome FROM ${clickhouse.database}.alert_deliveries FINAL`,
        format: 'JSONEachRow',
      })
      const deliveries = await result.json<{ receiver: string; idempotency_key: string; outcome: string }>()
      expect(deliveries.every((d) => d.outcome === 'delivered')).toBe(true)
      // Recorded by receiver name (the bare URLs are named by kind and position).
      const delivered = (name: string) =>
        new Set(deliveries.filter((d) => d.receiver === name).map((d) => d.idempotency_key))
      expect(delivered('webhook-1').size).toBeGreaterThan(0)
      expect(delivered('webhook-1').size).toBe(delivered('slack-1').size)
      expect(delivered('kafka').size).toBe(delivered('webhook-1').size)
      const notifiedFingerprints = new Set(
        receiver.requests
          .filter((r) => r.path === '/generic')
          .flatMap((r) => (r.body.alerts as { fingerprint: string }[]).map((alert) => alert.fingerprint)),
      )
      for (const transition of owed) expect(notifiedFingerprints.has(transition.fingerprint)).toBe(true)

      // The receiver saw the page firing once per idempotency key: a resend after the crash (if the
      // kill fell between its acknowledgement and the record) carries the key it already has.
      const firingKeys = pageNotifications('firing').map((r) => r.headers['idempotency-key'])
      expect(new Set(firingKeys).size).toBe(1)
      const resends =
        receiver.requests.length -
        new Set(receiver.requests.map((r) => `${r.path} ${r.headers['idempotency-key']}`)).size
      logger.warn(
        { resends, requests: receiver.requests.length },
        'notifications resent after the crash (same key)',
      )
      const published = (await readWholeTopic(kafka, alertsTopic)).filter((m) =>
        (JSON.parse(m.value).alerts as { labels: Record<string, string> }[]).some((a) => isWebPage(a.labels)),
      )
      expect(
        new Set(published.map((m) => `${JSON.parse(m.value).status} ${m.headers['idempotency-key']}`)).size,
      ).toBe(2)
    } finally {
      await clickhouse.close()
    }
  })
})
