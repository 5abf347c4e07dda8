import { type BatchingProducer, ProducerQueueFullError } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { counter, histogram, rejectedEventsCounter } from '@cpi/runtime'
import {
  boundedDeadLetter,
  type DeadLetter,
  type FieldError,
  parseAndValidate,
  type RejectReason,
  type Validation,
  type ValidationLimits,
  validateEvent,
} from '@cpi/schemas'
import type { Message } from 'kafkajs'
import type { Registry } from 'prom-client'
import type { DecodedBody, RequestItem } from './decode-body.ts'
import type { TokenBuckets } from './token-bucket.ts'

export interface IngestDependencies {
  producer: BatchingProducer
  topics: { events: string; deadLetter: string }
  limits: Partial<ValidationLimits>
  rateLimiter: TokenBuckets
  produceTimeoutMs: number
  /** Largest raw payload a dead letter keeps; longer ones are cut (a Kafka record is bounded). */
  deadLetterMaxRawBytes?: number
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
 * body is not JSON (kept as a dead letter); 429 over the key's rate (every request with a body
 * counts, a malformed one too); 503 Kafka did not acknowledge in time, or the producer holds
 * its bound of messages already (retry the whole request: event ids make a resend harmless).
 */
export function createIngestService(deps: IngestDependencies) {
  const now = deps.now ?? Date.now
  const maxRawBytes = deps.deadLetterMaxRawBytes ?? 256 * 1024
  const metrics = createIngestMetrics(deps.registry)

  const answer = (result: IngestAnswer): IngestAnswer => {
    metrics.requests.inc({ status: String(result.status) })
    return result
  }

  async function malformed(raw: string, message: string, sender: string, receivedAt: number) {
    const letter: DeadLetter = {
      reason: 'malformed_json',
      errors: [{ path: '', message }],
      origin: 'ingest',
      rejectedAt: new Date(receivedAt).toISOString(),
      sender,
    }
    const failed = await produce(deps, metrics, [], [deadLetterMessage(raw, letter, maxRawBytes)])
    if (failed) return answer(failed)
    metrics.rejections.inc({ origin: 'ingest', reason: 'malformed_json' })
    return answer({ status: 400, body: { error: 'malformed_json', message, accepted: 0 } })
  }

  async function accept(items: RequestItem[], sender: string, receivedAt: number): Promise<IngestAnswer> {
    const { valid, dead, rejected } = sortItems(items, {
      sender,
      receivedAt,
      limits: deps.limits,
      maxRawBytes,
    })
    const failed = await produce(deps, metrics, valid, dead)
    if (failed) return answer(failed)
    metrics.events.inc({ outcome: 'accepted' }, valid.length)
    metrics.events.inc({ outcome: 'rejected' }, rejected.length)
    for (const item of rejected) metrics.rejections.inc({ origin: 'ingest', reason: item.reason })
    const status = rejected.length === 0 ? 200 : valid.length === 0 ? 422 : 207
    return answer({ status, body: { accepted: valid.length, rejected } })
  }

  return {
    async handle(decoded: DecodedBody, sender: string): Promise<IngestAnswer> {
      const receivedAt = now()
      // Every body costs the key its tokens, garbage too: else a key could flood the
      // dead-letter topic with malformed bodies that no limit ever refuses.
      const count = decoded.kind === 'items' ? Math.max(1, decoded.items.length) : 1
      const limit = deps.rateLimiter.take(sender, count, receivedAt)
      if (!limit.ok) return answer(rateLimited(count, limit.retryAfterMs))
      if (decoded.kind === 'unsupported') {
        return answer({ status: 415, body: { error: 'unsupported_media_type', message: decoded.message } })
      }
      if (decoded.kind === 'malformed') return malformed(decoded.raw, decoded.message, sender, receivedAt)
      return accept(decoded.items, sender, receivedAt)
    },
    /** Counts a request refused before its body was read (auth, size). */
    countRefused(status: number): void {
      metrics.requests.inc({ status: String(status) })
    },
  }
}

/** The gateway's metrics: requests by status, events by outcome, rejections by reason, produce time. */
function createIngestMetrics(registry: Registry) {
  return {
    requests: counter(registry, {
      name: 'cpi_ingest_requests_total',
      help: 'Ingest HTTP requests by status code',
      labelNames: ['status'] as const,
    }),
    events: counter(registry, {
      name: 'cpi_ingest_events_total',
      help: 'Events received by the gateway, by outcome',
      labelNames: ['outcome'] as const,
    }),
    rejections: rejectedEventsCounter(registry),
    produceSeconds: histogram(registry, {
      name: 'cpi_ingest_produce_seconds',
      help: 'Time from a request being validated to Kafka acknowledging its events',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
  }
}

type IngestMetrics = ReturnType<typeof createIngestMetrics>

/**
 * Queues a request's events and dead letters together and waits for Kafka to acknowledge them,
 * at most `produceTimeoutMs`: undefined once acknowledged, else the 503 to answer.
 */
async function produce(
  deps: IngestDependencies,
  metrics: IngestMetrics,
  valid: Message[],
  dead: Message[],
): Promise<IngestAnswer | undefined> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Kafka did not acknowledge within ${deps.produceTimeoutMs} ms`)),
        deps.produceTimeoutMs,
      )
    })
    // Both topics queued together or not at all: a refused request leaves nothing behind.
    const sent = deps.producer.sendAll([
      { topic: deps.topics.events, messages: valid },
      { topic: deps.topics.deadLetter, messages: dead },
    ])
    await Promise.race([sent, timeout])
    metrics.produceSeconds.observe((performance.now() - started) / 1000)
    return undefined
  } catch (error) {
    if (error instanceof ProducerQueueFullError) {
      deps.logger.debug({ err: error }, 'producer queue full; answered 503')
      return overloaded(error)
    }
    deps.logger.warn(
      { err: error, events: valid.length, deadLetters: dead.length },
      'Kafka unavailable; answered 503',
    )
    return kafkaUnavailable(error)
  } finally {
    clearTimeout(timer)
  }
}

/** One item's verdict: the validated event, or why not (a too-deep one is not walked again). */
function validateItem(item: RequestItem, receivedAt: number, limits: Partial<ValidationLimits>): Validation {
  if (item.tooDeep) {
    return {
      ok: false,
      reason: 'too_deep',
      errors: [item.tooDeep],
      ...identityOf(item.value),
    }
  }
  const result =
    item.parseError !== undefined
      ? parseAndValidate(item.raw, { now: receivedAt, limits })
      : validateEvent(item.value, { now: receivedAt, limits })
  if (result.ok || item.parseError === undefined || result.reason !== 'malformed_json') return result
  return { ...result, errors: [{ path: '', message: item.parseError }] }
}

/**
 * A request's items sorted by their verdicts: the valid events as messages keyed by subject, the
 * rest as rejections (for the answer) and dead letters (for the dead-letter topic).
 */
function sortItems(
  items: readonly RequestItem[],
  context: { sender: string; receivedAt: number; limits: Partial<ValidationLimits>; maxRawBytes: number },
): { valid: Message[]; dead: Message[]; rejected: RejectedItem[] } {
  const { sender, receivedAt, limits, maxRawBytes } = context
  const valid: Message[] = []
  const dead: Message[] = []
  const rejected: RejectedItem[] = []
  for (const item of items) {
    const result = validateItem(item, receivedAt, limits)
    if (result.ok) {
      valid.push({
        key: result.event.subject,
        value: JSON.stringify(result.event),
        headers: { 'content-type': 'application/cloudevents+json', ce_type: result.event.type },
      })
      continue
    }
    const { reason, errors, id, type, subject } = result
    rejected.push({ index: item.index, ...(id === undefined ? {} : { id }), reason, errors })
    const letter: DeadLetter = {
      reason,
      errors,
      origin: 'ingest',
      rejectedAt: new Date(receivedAt).toISOString(),
      sender,
      ...(id === undefined ? {} : { eventId: id }),
      ...(type === undefined ? {} : { eventType: type }),
      ...(subject === undefined ? {} : { subject }),
    }
    dead.push(deadLetterMessage(item.raw, letter, maxRawBytes))
  }
  return { valid, dead, rejected }
}

/** 429: over the key's rate (retry later), or more than its burst in one request (split it). */
function rateLimited(count: number, retryAfterMs: number): IngestAnswer {
  const seconds = Number.isFinite(retryAfterMs) ? Math.max(1, Math.ceil(retryAfterMs / 1000)) : 60
  return {
    status: 429,
    headers: { 'retry-after': String(seconds) },
    body: {
      error: 'rate_limited',
      message: Number.isFinite(retryAfterMs)
        ? `expected at most the key's rate of events per second, got ${count} events too soon; retry in ${seconds} s`
        : `expected at most the key's burst of events in one request, got ${count}; split the request`,
      accepted: 0,
    },
  }
}

/** 503 at once: Kafka is slow or away and the gateway holds its bound already; nothing was queued. */
function overloaded(error: ProducerQueueFullError): IngestAnswer {
  return {
    status: 503,
    headers: { 'retry-after': '1' },
    body: {
      error: 'overloaded',
      message: `expected room in the gateway's queue for Kafka, got it full (${error.message}). Nothing of this request was accepted; send it again shortly.`,
      accepted: 0,
    },
  }
}

/** 503 after the produce timeout or a Kafka error: nothing is confirmed. */
function kafkaUnavailable(error: unknown): IngestAnswer {
  return {
    status: 503,
    headers: { 'retry-after': '5' },
    body: {
      error: 'kafka_unavailable',
      message: `expected Kafka to acknowledge the events, got: ${error instanceof Error ? error.message : String(error)}. Nothing is confirmed; send the request again (event ids make duplicates harmless).`,
      accepted: 0,
    },
  }
}

/** A dead letter whose value fits a Kafka record (`boundedDeadLetter`). */
function deadLetterMessage(raw: string, letter: DeadLetter, maxRawBytes: number): Message {
  return { key: letter.subject ?? null, ...boundedDeadLetter(raw, letter, maxRawBytes) }
}

/** What can be read of a rejected event's identity without walking it (top-level strings only). */
function identityOf(value: unknown): { id?: string; type?: string; subject?: string } {
  const identity: { id?: string; type?: string; subject?: string } = {}
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return identity
  for (const key of ['id', 'type', 'subject'] as const) {
    const field = (value as Record<string, unknown>)[key]
    if (typeof field === 'string' && field.length <= 256) identity[key] = field
  }
  return identity
}

export type IngestService = ReturnType<typeof createIngestService>
