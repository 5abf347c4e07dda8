import { setTimeout as sleep } from 'node:timers/promises'
import type { BatchingProducer } from '@cpi/kafka'
import type { SimulatedEvent } from './generate.ts'

/** Where simulated events go. `send` resolves once they are accepted (acknowledged or answered). */
export interface EventSink {
  readonly name: string
  send(events: readonly SimulatedEvent[]): Promise<void>
}

/** Straight to the events topic, keyed by subject, as a producer that bypasses the gateway would. */
export function kafkaSink(producer: BatchingProducer, topic: string): EventSink {
  return {
    name: `kafka:${topic}`,
    send: (events) =>
      producer.send(
        topic,
        events.map((event) => ({ key: event.key, value: event.text })),
      ),
  }
}

/**
 * Through the ingest gateway as NDJSON. 2xx, 207 and 422 are answers (invalid events are the
 * gateway's to dead-letter); 429 and 503 and network errors are retried with backoff, which
 * is safe because a resent event keeps its id.
 */
export function httpSink(options: { url: string; key: string; maxAttempts?: number }): EventSink {
  const endpoint = `${options.url.replace(/\/$/, '')}/v1/events`
  return {
    name: `http:${endpoint}`,
    async send(events) {
      if (events.length === 0) return
      const body = `${events.map((event) => event.text).join('\n')}\n`
      for (let attempt = 1; ; attempt++) {
        let retryAfterMs = Math.min(30_000, 200 * 2 ** attempt)
        try {
          const response = await fetch(endpoint, {
            method: 'POST',
            headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/x-ndjson' },
            body,
          })
          await response.arrayBuffer()
          if (response.ok || response.status === 207 || response.status === 422) return
          if (response.status !== 429 && response.status !== 503) {
            throw new Error(`the gateway answered ${response.status}; expected 2xx, 207, 422, 429 or 503`)
          }
          const header = Number(response.headers.get('retry-after'))
          if (Number.isFinite(header) && header > 0) retryAfterMs = header * 1000
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('the gateway answered')) throw error
          if (attempt >= (options.maxAttempts ?? Number.POSITIVE_INFINITY)) throw error
        }
        await sleep(retryAfterMs)
      }
    },
  }
}
