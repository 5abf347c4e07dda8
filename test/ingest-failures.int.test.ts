import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { createLogger } from '@cpi/logger'
import { exampleEvents } from '@cpi/schemas'
import { describe, expect } from 'vitest'
import { freePort, testEnvironment, uniqueName } from './support/environment.ts'
import { it } from './support/fixtures.ts'
import { startTestGateway, TEST_KEY } from './support/gateway.ts'
import { readWholeTopic } from './support/topic-reader.ts'

const event = (id: string) => ({
  ...structuredClone(exampleEvents['call.queued']),
  id,
  subject: `C-${id}`,
  time: new Date(Date.now() - 1000).toISOString(),
})

describe('ingest gateway when things fail', () => {
  it('answers 503 when Kafka does not acknowledge, accepting nothing', async () => {
    const gateway = await startTestGateway(
      createLogger({ service: 'test', level: 'silent' }),
      {
        KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
        CPI_INGEST_PRODUCE_TIMEOUT_MS: '1500',
      },
      { awaitKafka: false },
    )
    try {
      const started = Date.now()
      const answer = await gateway.post(event('k1'))
      expect(answer).toMatchObject({ status: 503, body: { error: 'kafka_unavailable', accepted: 0 } })
      expect(answer.headers.get('retry-after')).toBe('5')
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      // The producer keeps retrying the absent broker; closing need not wait for it.
      await Promise.race([
        gateway.close().catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 1000)),
      ])
    }
  })

  it('loses no acknowledged event when the gateway process is killed in the middle of a load', async ({
    kafka,
    createTopic,
  }) => {
    const topic = await createTopic('events_restart', 3)
    const deadLetter = await createTopic('dlq_restart', 1)
    const port = await freePort()
    const env = {
      ...process.env,
      PORT: String(port),
      LOG_LEVEL: 'error',
      KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
      CPI_EVENTS_TOPIC: topic,
      CPI_DEAD_LETTER_TOPIC: deadLetter,
      CPI_INGEST_KEYS: TEST_KEY,
    }
    const main = path.resolve(import.meta.dirname, '../services/ingest/src/main.ts')
    const start = (): ChildProcess =>
      spawn(process.execPath, [main], { env, stdio: ['ignore', 'ignore', 'inherit'] })
    const waitReady = async () =>
      expect
        .poll(
          () =>
            fetch(`http://127.0.0.1:${port}/readyz`)
              .then((response) => response.status)
              .catch(() => 0),
          { timeout: 30_000, interval: 100 },
        )
        .toBe(200)

    let gateway = start()
    await waitReady()

    // Clients send batches of 20 events, 4 at a time, and note which batches got a 2xx.
    const acknowledged = new Set<string>()
    let failures = 0
    let sent = 0
    let stop = false
    const client = async (worker: number) => {
      for (let request = 0; !stop; request++) {
        const ids = Array.from(
          { length: 20 },
          (_, index) => `${worker}-${request}-${index}-${uniqueName('e')}`,
        )
        sent += ids.length
        try {
          const response = await fetch(`http://127.0.0.1:${port}/v1/events`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${TEST_KEY}`,
              'content-type': 'application/cloudevents-batch+json',
            },
            body: JSON.stringify(ids.map(event)),
          })
          if (response.ok) for (const id of ids) acknowledged.add(id)
          else failures++
        } catch {
          failures++
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
    }
    const clients = [0, 1, 2, 3].map(client)
    await expect.poll(() => acknowledged.size, { timeout: 30_000, interval: 20 }).toBeGreaterThan(2000)
    gateway.kill('SIGKILL')
    await once(gateway, 'exit')
    const acknowledgedBeforeKill = acknowledged.size
    gateway = start()
    await waitReady()
    await expect
      .poll(() => acknowledged.size, { timeout: 30_000 })
      .toBeGreaterThan(acknowledgedBeforeKill + 1000)
    stop = true
    await Promise.all(clients)
    gateway.kill('SIGTERM')
    await once(gateway, 'exit')

    // Requests in flight at the kill failed on the client side: the kill happened mid-load.
    expect(failures).toBeGreaterThan(0)
    expect(sent).toBeGreaterThan(acknowledged.size)
    const inKafka = new Set(
      (await readWholeTopic(kafka, topic)).map((message) => JSON.parse(message.value).id),
    )
    const missing = [...acknowledged].filter((id) => !inKafka.has(id))
    expect(missing).toEqual([])
  })
})
