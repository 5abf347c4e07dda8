import type { BatchingProducer } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { counter, histogram, rejectedEventsCounter } from '@cpi/runtime'
import {
  type DeadLetter,
  encodeDeadLetterHeaders,
  type FieldError,
  parseAndValidate,
  type RejectReason,
  type ValidationLimits,
  validateEvent,
} from '@cpi/schemas'
import type { Message } from 'kafkajs'
import type { Registry } from 'prom-client'
import type { DecodedBody } from './decode-body.ts'
import type { TokenBuckets } from './token-bucket.ts'

export interface IngestDependencies {
  producer: BatchingProducer
  topics: { events: string; deadLetter: string }
  limits: Partial<ValidationLimits>
  rateLimiter: TokenBuckets
  produceTimeoutMs: number
  registry: Registry
  logger: Logger
  now?: () => number
}

export interface RejectedItem {
  index: number
  id?: string
  reason: RejectReason
  errors: FieldError[]
}

export interface IngestAnswer {
  status: number
  body: Record<string, unknown>
  headers?: Record<string, string>
}

/**
 * The gateway's decision for one request, apart from HTTP: rate limit, validate each event on
 * its own, produce the valid ones to the events topic (keyed by subject) and the invalid ones
 * to the dead-letter topic, and answer only once Kafka acknowledged both.
 *
 * Statuses: 200 all accepted; 207 some accepted, some rejected; 422 none accepted; 400 the
 * body is not JSON (kept as a dead letter); 429 over the key's rate; 503 Kafka did not
 * acknowledge in time (retry the whole request: event ids make a resend harmless).
 */
export function createIngestService(deps: IngestDependencies) {
  const now = deps.now ?? Date.now
  const requests = counter(deps.registry, {
    name: 'cpi_ingest_requests_total',
    help: 'Ingest HTTP requests by status code',
    labelNames: ['status'] as const,
  })
  const events = counter(deps.registry, {
    name: 'cpi_ingest_events_total',
    help: 'Events received by the gateway, by outcome',
    labelNames: ['outcome'] as const,
  })
  const rejections = rejectedEventsCounter(deps.registry)
  const produceSeconds = histogram(deps.registry, {
    name: 'cpi_ingest_produce_seconds',
    help: 'Time from a request being validated to Kafka acknowledging its events',
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  })

  const answer = (result: IngestAnswer): IngestAnswer => {
    requests.inc({ status: String(result.status) })
    return result
  }

  function deadLetterMessage(raw: string, letter: DeadLetter): Message {
    return { key: letter.subject ?? null, value: raw, headers: encodeDeadLetterHeaders(letter) }
  }

  async function produce(valid: Message[], dead: Message[]): Promise<IngestAnswer | undefined> {
    const started = performance.now()
    let timer: NodeJS.Timeout | undefined
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`Kafka did not acknowledge within ${deps.produceTimeoutMs} ms`)),
          deps.produceTimeoutMs,
        )
      })
      await Promise.race([
        Promise.all([
          deps.producer.send(deps.topics.events, valid),
          deps.producer.send(deps.topics.deadLetter, dead),
        ]),
        timeout,
      ])
      produceSeconds.observe((performance.now() - started) / 1000)
      return undefined
    } catch (error) {
      deps.logger.warn(
        { err: error, events: valid.length, deadLetters: dead.length },
        'Kafka unavailable; answered 503',
      )
      return answer({
        status: 503,
        headers: { 'retry-after': '5' },
        body: {
          error: 'kafka_unavailable',
          message: `expected Kafka to acknowledge the events, got: ${error instanceof Error ? error.message : String(error)}. Nothing is confirmed; send the request again (event ids make duplicates harmless).`,
          accepted: 0,
        },
      })
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    async handle(decoded: DecodedBody, sender: string): Promise<IngestAnswer> {
      const receivedAt = now()
      if (decoded.kind === 'unsupported') {
        return answer({ status: 415, body: { error: 'unsupported_media_type', message: decoded.message } })
      }
      if (decoded.kind === 'malformed') {
        const letter: DeadLetter = {
          reason: 'malformed_json',
          errors: [{ path: '', message: decoded.message }],
          origin: 'ingest',
          rejectedAt: new Date(receivedAt).toISOString(),
          sender,
        }
        const failed = await produce([], [deadLetterMessage(decoded.raw, letter)])
        if (failed) return failed
        rejections.inc({ origin: 'ingest', reason: 'malformed_json' })
        return answer({
          status: 400,
          body: { error: 'malformed_json', message: decoded.message, accepted: 0 },
        })
      }

      const { items } = decoded
      const limit = deps.rateLimiter.take(sender, Math.max(1, items.length), receivedAt)
      if (!limit.ok) {
        const seconds = Number.isFinite(limit.retryAfterMs)
          ? Math.max(1, Math.ceil(limit.retryAfterMs / 1000))
          : 60
        return answer({
          status: 429,
          headers: { 'retry-after': String(seconds) },
          body: {
            error: 'rate_limited',
            message: Number.isFinite(limit.retryAfterMs)
              ? `expected at most the key's rate of events per second, got ${items.length} events too soon; retry in ${seconds} s`
              : `expected at most the key's burst of events in one request, got ${items.length}; split the request`,
            accepted: 0,
          },
        })
      }

      const valid: Message[] = []
      const dead: Message[] = []
      const rejected: RejectedItem[] = []
      for (const item of items) {
        const result =
          item.parseError !== undefined
            ? parseAndValidate(item.raw, { now: receivedAt, limits: deps.limits })
            : validateEvent(item.value, { now: receivedAt, limits: deps.limits })
        if (result.ok) {
          valid.push({
            key: result.event.subject,
            value: JSON.stringify(result.event),
            headers: { 'content-type': 'application/cloudevents+json', ce_type: result.event.type },
          })
          continue
        }
        const errors =
          item.parseError !== undefined && result.reason === 'malformed_json'
            ? [{ path: '', message: item.parseError }]
            : result.errors
        rejected.push({
          index: item.index,
          ...(result.id === undefined ? {} : { id: result.id }),
          reason: result.reason,
          errors,
        })
        dead.push(
          deadLetterMessage(item.raw, {
            reason: result.reason,
            errors,
            origin: 'ingest',
            rejectedAt: new Date(receivedAt).toISOString(),
            sender,
            ...(result.id === undefined ? {} : { eventId: result.id }),
            ...(result.type === undefined ? {} : { eventType: result.type }),
            ...(result.subject === undefined ? {} : { subject: result.subject }),
          }),
        )
      }

      const failed = await produce(valid, dead)
      if (failed) return failed
      events.inc({ outcome: 'accepted' }, valid.length)
      events.inc({ outcome: 'rejected' }, rejected.length)
      for (const item of rejected) rejections.inc({ origin: 'ingest', reason: item.reason })
      const status = rejected.length === 0 ? 200 : valid.length === 0 ? 422 : 207
      return answer({ status, body: { accepted: valid.length, rejected } })
    },
    /** Counts a request refused before its body was read (auth, size). */
    countRefused(status: number): void {
      requests.inc({ status: String(status) })
    },
  }
}

export type IngestService = ReturnType<typeof createIngestService>
