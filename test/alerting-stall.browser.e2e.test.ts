import { createLogger } from '@cpi/logger'
import type { Producer } from 'kafkajs'
import { describe, expect } from 'vitest'
import { launchBrowser } from './support/browser.ts'
import { uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { type RunningProduct, startProduct } from './support/product.ts'
import { startWebhookReceiver } from './support/webhook-receiver.ts'

// Alerting never freezes silently: the whole product in this process, fed through the real
// broker. Partition 2 of the events topic stops getting events while partitions 0 and 1 go on;
// its watermark holds back the watermark the alerter evaluates on. That must page (its own
// alert, through the same notification path), show on /readyz and on the dashboard's freshness.

const logger = createLogger({ service: 'test', level: process.env.TEST_LOG_LEVEL ?? 'error' })
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, each checked by the assertions
type Json = Record<string, any>

/** Sends a valid event with the wall clock's time to each given partition every 250 ms, until stopped. */
function feed(producer: Producer, topic: string) {
  let partitions = [0, 1, 2]
  let sent = 0
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      await producer.send({
        topic,
        messages: partitions.map((partition) => ({
          partition,
          key: `Q-${partition}`,
          value: JSON.stringify({
            specversion: '1.0',
            id: uniqueName('stall'),
            source: '/stall-test',
            type: 'quote.issued',
            time: new Date().toISOString(),
            subject: `Q-stall-${partition}-${sent++}`,
            data: {},
          }),
        })),
      })
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  })()
  return {
    only(next: number[]) {
      partitions = next
    },
    async stop() {
      stopped = true
      await loop
    },
  }
}

async function get(base: string, route: string): Promise<{ status: number; body: Json }> {
  const response = await fetch(`${base}${route}`)
  return { status: response.status, body: (await response.json()) as Json }
}

const stallAlerts = (requests: { body: Json }[], status: string) =>
  requests
    .filter((r) => r.body.status === status)
    .flatMap((r) => r.body.alerts as Json[])
    .filter((alert) => alert.labels.alertname === 'PipelineStalled')

describe('a stalled partition', () => {
  it('pages as its own alert naming the partition, shows on /readyz and on the dashboard with the lowest watermark, and resolves when it moves again', async ({
    kafka,
  }) => {
    const receiver = await startWebhookReceiver()
    let product: RunningProduct | undefined
    const producer = kafka.producer()
    let feeder: ReturnType<typeof feed> | undefined
    const browser = await launchBrowser()
    try {
      const topic = uniqueName('events')
      product = await startProduct('stall', logger, {
        CPI_SIMULATOR: 'off',
        CPI_EVENTS_TOPIC: topic,
        // Event time only: a partition without events keeps its watermark.
        CPI_IDLE_AFTER_MS: String(10 * 365 * 24 * 3_600_000),
        CPI_SWEEP_INTERVAL_MS: '250',
        CPI_ALERT_INTERVAL_MS: '250',
        CPI_ALERT_STALL_MS: '4000',
        CPI_ALERT_WEBHOOK_URLS: receiver.url('/generic'),
      })
      const base = product.app.url
      await producer.connect()
      feeder = feed(producer, topic)
      await expect
        .poll(async () => (await get(base, '/v1/freshness')).body.partitions.length, { timeout: 60_000 })
        .toBe(3)
      expect(stallAlerts(receiver.requests, 'firing')).toEqual([])

      // Partition 2 stops; 0 and 1 go on.
      feeder.only([0, 1])
      await expect
        .poll(() => stallAlerts(receiver.requests, 'firing').length, { timeout: 60_000, interval: 250 })
        .toBe(1)
      const [alert] = stallAlerts(receiver.requests, 'firing')
      expect(alert?.labels).toMatchObject({ partition: '2', severity: 'page', rule: 'pipeline_stalled' })
      expect(alert?.annotations.summary).toMatch(/partition 2\b/)

      const ready = await get(base, '/readyz')
      expect(ready.status, 'the process itself still serves').toBe(200)
      const pipeline = (ready.body.checks as Json[]).find((check) => check.name === 'pipeline')
      expect(pipeline).toMatchObject({ ok: false })
      expect(pipeline?.detail).toMatch(/partition 2\b/)

      const freshness = (await get(base, '/v1/freshness')).body
      const stuck = (freshness.partitions as Json[]).find((p) => p.partition === 2)
      expect(freshness.alertingWatermark).toBe(stuck?.watermark)
      expect(freshness.stalled.map((p: Json) => p.partition)).toEqual([2])

      const page = await browser.newPage()
      await page.goto(`${base}/`)
      await expect
        .poll(() => page.locator('#freshness .label').textContent(), { timeout: 30_000 })
        .toMatch(/^Stalled: partition 2\b/)
      expect(await page.locator('#freshness').getAttribute('data-level')).toBe('red')
      expect(await page.locator('#as-of').textContent()).toMatch(/alerting at \d\d:\d\d:\d\d/)

      // Partition 2 moves again: the alert resolves, readiness detail clears.
      feeder.only([0, 1, 2])
      await expect
        .poll(() => stallAlerts(receiver.requests, 'resolved').length, { timeout: 60_000, interval: 250 })
        .toBe(1)
      const after = await get(base, '/readyz')
      expect((after.body.checks as Json[]).find((check) => check.name === 'pipeline')).toMatchObject({
        ok: true,
      })
      await expect.poll(async () => (await get(base, '/v1/freshness')).body.stalled).toEqual([])
      await expect
        .poll(() => page.locator('#freshness .label').textContent(), { timeout: 30_000 })
        .not.toMatch(/^Stalled/)
      // No other partition stalled meanwhile.
      expect(stallAlerts(receiver.requests, 'firing').map((a) => a.labels.partition)).toEqual(['2'])
    } finally {
      await feeder?.stop()
      await producer.disconnect()
      await browser.close()
      await product?.stop()
      await receiver.close()
    }
  })
})
