// The breach queue (`GET /v1/breaching`, docs/api.md) over what the real processor wrote:
// tickets opened at chosen times before the newest one, first_reply_2h (2 hours, wall time)
// deciding them against their partition's watermark — event time: the newest event's time,
// moved on by the time the partition has been quiet since.

import { startAlerter } from '@cpi/alerter'
import { registerApiRoutes } from '@cpi/api'
import { listAlerts } from '@cpi/clickhouse'
import { loadConfig } from '@cpi/config'
import { builtinCatalogFile, loadCatalog } from '@cpi/cpi-core'
import { ensureTopics } from '@cpi/kafka'
import { createMetricsRegistry } from '@cpi/runtime'
import Fastify from 'fastify'
import { describe, expect } from 'vitest'
import { testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestProcessor } from './support/processor.ts'

const MINUTE = 60_000

describe('the breach queue and the Prometheus exposition', () => {
  it('lists the interactions whose deadline comes within the asked time, soonest first, with counts per segment', async ({
    kafka,
    clickhouse,
    logger,
  }) => {
    const topics = { events: uniqueName('breach_events'), deadLetter: uniqueName('breach_dlq') }
    await ensureTopics(kafka, [
      { topic: topics.events, numPartitions: 2 },
      { topic: topics.deadLetter, numPartitions: 1 },
    ])
    const { processor } = await startTestProcessor({ kafka, clickhouse, logger }, topics, {
      CPI_IDLE_AFTER_MS: '500',
    })
    const http = Fastify()
    try {
      const run = uniqueName('t')
      const now = Date.now()
      // On one partition, whose clock the newest ticket sets: one due in ~10 min (chat), one in
      // ~30 min (email), one already late (decided bad, not in the queue), the newest in ~2 h.
      const tickets = [
        { subject: `${run}-soon`, openedAt: now - 110 * MINUTE, channel: 'chat' },
        { subject: `${run}-later`, openedAt: now - 90 * MINUTE, channel: 'email' },
        { subject: `${run}-late`, openedAt: now - 130 * MINUTE, channel: 'email' },
        { subject: `${run}-newest`, openedAt: now, channel: 'email' },
      ]
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({
        topic: topics.events,
        messages: tickets.map((ticket) => ({
          partition: 0,
          key: ticket.subject,
          value: JSON.stringify({
            specversion: '1.0',
            id: `${ticket.subject}-opened`,
            source: '/support/desk',
            type: 'ticket.opened',
            time: new Date(ticket.openedAt).toISOString(),
            subject: ticket.subject,
            data: { customerId: 'c-1', channel: ticket.channel, region: 'north', category: 'billing' },
          }),
        })),
      })
      await producer.disconnect()

      registerApiRoutes(http, {
        clickhouse,
        catalog: await loadCatalog([builtinCatalogFile]),
        live: {} as never,
        shareReadsMs: 0,
      })
      const get = async (url: string) => {
        const response = await http.inject({ method: 'GET', url })
        return { status: response.statusCode, body: response.json() }
      }
      const listed = async (within: string) =>
        (await get(`/v1/breaching?within=${within}&cpi=first_reply_2h`)).body.interactions
          .map((interaction: { subject: string }) => interaction.subject)
          .filter((subject: string) => subject.startsWith(run))

      // Once the watermarks are written: within 15 min only the first, within 45 min both open ones.
      await expect.poll(() => listed('15m'), { timeout: 30_000, interval: 250 }).toEqual([`${run}-soon`])
      await expect
        .poll(() => listed('45m'), { timeout: 30_000, interval: 250 })
        .toEqual([`${run}-soon`, `${run}-later`])
      const { body } = await get('/v1/breaching?within=45m&cpi=first_reply_2h')
      const soon = body.interactions.find(
        (interaction: { subject: string }) => interaction.subject === `${run}-soon`,
      )
      expect(soon).toMatchObject({
        cpi: 'first_reply_2h',
        startedAt: new Date(tickets[0]?.openedAt as number).toISOString(),
        deadline: new Date((tickets[0]?.openedAt as number) + 120 * MINUTE).toISOString(),
        segments: { channel: 'chat', region: 'north', category: 'billing' },
      })
      // Due in about ten minutes of the watermark (the newest event's time and a few seconds).
      expect(soon.dueInMs).toBeGreaterThan(9 * MINUTE)
      expect(soon.dueInMs).toBeLessThanOrEqual(11 * MINUTE)
      expect(body.within).toBe('45m')
      expect(body.total).toBe(2)
      expect(body.counts).toEqual(
        expect.arrayContaining([
          { cpi: 'first_reply_2h', dimension: 'all', value: 'all', count: 2 },
          { cpi: 'first_reply_2h', dimension: 'channel', value: 'chat', count: 1 },
          { cpi: 'first_reply_2h', dimension: 'channel', value: 'email', count: 1 },
        ]),
      )
      // The same outcomes as Prometheus counters: one known (the late one, bad), three pending.
      const exposition = async () => (await http.inject({ method: 'GET', url: '/v1/prometheus' })).body
      await expect
        .poll(
          async () =>
            (await exposition())
              .split('\n')
              .filter((line) => line.includes('cpi="first_reply_2h",dimension="all"')),
          { timeout: 30_000, interval: 250 },
        )
        .toEqual([
          'cpi_outcomes_good_total{cpi="first_reply_2h",dimension="all",value="all"} 0',
          'cpi_outcomes_total{cpi="first_reply_2h",dimension="all",value="all"} 1',
          'cpi_outcomes_provisional{cpi="first_reply_2h",dimension="all",value="all"} 0',
          'cpi_outcomes_pending{cpi="first_reply_2h",dimension="all",value="all"} 3',
        ])
      expect(await exposition()).toContain('cpi_objective_target{cpi="first_reply_2h"} 0.85')
      // The same queue as an alert (CPI_ALERT_BREACH_WITHIN_MS): first_reply_2h has interactions
      // due within 15 minutes of their watermark, so its "about to breach" ticket fires at once.
      const alerter = await startAlerter({
        config: loadConfig({
          KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
          CPI_EVENTS_TOPIC: topics.events,
          CPI_ALERTS_TOPIC: uniqueName('breach_alerts'),
          CPI_ALERT_INTERVAL_MS: '300',
          CPI_ALERT_BREACH_WITHIN_MS: String(15 * MINUTE),
          CPI_ALERT_BREACH_MIN: '1',
          CPI_PUBLIC_URL: 'http://cpi.example.test',
        }),
        clickhouse,
        kafka,
        registry: createMetricsRegistry({ service: 'breach-alerts' }),
        logger,
      })
      try {
        const breachAlert = async () =>
          (await listAlerts(clickhouse, { states: ['firing'], alertname: 'CpiBreachImminent' })).find(
            (alert) => alert.labels.cpi === 'first_reply_2h',
          )
        await expect.poll(breachAlert, { timeout: 30_000, interval: 300 }).toBeDefined()
        const fired = await breachAlert()
        expect(fired?.labels).toMatchObject({ rule: 'about_to_breach', severity: 'ticket', segment: 'all' })
        expect(fired?.value).toBeGreaterThanOrEqual(1)
        expect(fired?.annotations.summary).toMatch(
          /^First reply.*: \d+ open interactions? breach within 15 min$/,
        )
        expect(fired?.annotations.description).toContain('channel=chat')
        expect(fired?.annotations.dashboard).toBe('http://cpi.example.test/#breaching-heading')
      } finally {
        await alerter.stop()
      }

      // Within three hours the newest too; one limited to the first; bad parameters named.
      expect(await listed('3h')).toEqual([`${run}-soon`, `${run}-later`, `${run}-newest`])
      expect((await get('/v1/breaching?within=45m&limit=1')).body.interactions).toHaveLength(1)
      const bad = await get('/v1/breaching?within=2s&cpi=csat&limit=0&soon=1')
      expect(bad.status).toBe(400)
      expect(bad.body.details.map((problem: { parameter: string }) => problem.parameter)).toEqual([
        'within',
        'cpi',
        'limit',
        'soon',
      ])
    } finally {
      await http.close()
      await processor.stop()
    }
  })
})
