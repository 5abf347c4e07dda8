import { setTimeout as sleep } from 'node:timers/promises'
import type { ImportLine } from './import-file.ts'

export interface ImportProgress {
  /** Lines sent to the gateway (the file's events, less those rejected before sending). */
  lines: number
  /** Lines the gateway has answered for. */
  sent: number
  accepted: number
  rejected: number
  /** Rejections per reason. */
  reasons: Record<string, number>
  elapsedMs: number
}

export interface ImportRejection {
  line: number
  id?: string
  reason: string
  errors: { path: string; message: string }[]
}

interface GatewayAnswer {
  accepted?: number
  rejected?: { index: number; id?: string; reason: string; errors: { path: string; message: string }[] }[]
}

export interface ImportOptions {
  url: string
  key: string
  /** Events per second at most, so a large import leaves the processor's headroom to live events. */
  rate: number
  batchSize: number
  onProgress?: (progress: ImportProgress) => void
  onRejection?: (rejection: ImportRejection) => void
  /** Gives up on a batch after this many 429/503/network answers in a row. */
  maxAttempts?: number
}

/**
 * Sends the lines through the gateway as NDJSON, batch after batch, at most `rate` events a
 * second; 429 and 503 (and network errors) are retried after their Retry-After, which is safe
 * because a resent event keeps its id. Every rejection comes back with its file line.
 */
export async function sendImport(
  lines: readonly ImportLine[],
  options: ImportOptions,
): Promise<ImportProgress> {
  const endpoint = `${options.url.replace(/\/$/, '')}/v1/events`
  const started = Date.now()
  const progress: ImportProgress = {
    lines: lines.length,
    sent: 0,
    accepted: 0,
    rejected: 0,
    reasons: {},
    elapsedMs: 0,
  }
  for (let start = 0; start < lines.length; start += options.batchSize) {
    const batch = lines.slice(start, start + options.batchSize)
    const batchStarted = Date.now()
    const answer = await post(endpoint, options, `${batch.map((line) => line.text).join('\n')}\n`)
    progress.sent += batch.length
    progress.accepted += answer.accepted ?? 0
    for (const rejection of answer.rejected ?? []) {
      progress.rejected++
      progress.reasons[rejection.reason] = (progress.reasons[rejection.reason] ?? 0) + 1
      options.onRejection?.({
        line: batch[rejection.index]?.line ?? -1,
        ...(rejection.id === undefined ? {} : { id: rejection.id }),
        reason: rejection.reason,
        errors: rejection.errors,
      })
    }
    progress.elapsedMs = Date.now() - started
    options.onProgress?.({ ...progress })
    // Pace from this batch's start: after a stall (429, 503) the import resumes at the rate,
    // it does not burst to catch up while the gateway is busy.
    const due = batchStarted + (batch.length / options.rate) * 1000
    if (due > Date.now()) await sleep(due - Date.now())
  }
  progress.elapsedMs = Date.now() - started
  return progress
}

async function post(endpoint: string, options: ImportOptions, body: string): Promise<GatewayAnswer> {
  for (let attempt = 1; ; attempt++) {
    let waitMs = Math.min(30_000, 250 * 2 ** attempt)
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/x-ndjson' },
        body,
        // A gateway that never answers is retried like one that says 503.
        signal: AbortSignal.timeout(60_000),
      })
      const text = await response.text()
      if (response.ok || response.status === 207 || response.status === 422)
        return JSON.parse(text) as GatewayAnswer
      if (response.status !== 429 && response.status !== 503) {
        throw new ImportRefused(`the gateway answered ${response.status}: ${text.slice(0, 500)}`)
      }
      const retryAfter = Number(response.headers.get('retry-after'))
      if (Number.isFinite(retryAfter) && retryAfter > 0) waitMs = retryAfter * 1000
    } catch (error) {
      if (error instanceof ImportRefused) throw error
      if (attempt >= (options.maxAttempts ?? 20)) throw error
    }
    if (attempt >= (options.maxAttempts ?? 20))
      throw new Error(`the gateway stayed busy after ${attempt} attempts`)
    await sleep(waitMs)
  }
}

/** An answer no retry changes (401, 403, 413, 415): the import stops and says why. */
export class ImportRefused extends Error {
  override readonly name = 'ImportRefused'
}
