// Concurrent load on API routes with autocannon, latency percentiles computed from every
// response (autocannon's own summary has no p95). Shared by the API benchmarks.
import { createRequire } from 'node:module'
import { percentile } from './support.ts'

interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void
  then: Promise<{ errors: number; non2xx: number; requests: { total: number }; duration: number }>['then']
}
const autocannon = createRequire(import.meta.url)('autocannon') as (options: {
  url: string
  connections: number
  duration: number
  requests?: { setupRequest: (request: { path: string }) => { path: string } }[]
}) => AutocannonInstance

export interface RouteResult {
  route: string
  requests: number
  requestsPerSecond: number
  latencyMs: { p50: number; p95: number; p99: number }
  errors: number
  non2xx: number
}

/**
 * The same URL from many clients shares one read a second (services/api/src/read-cache.ts), as
 * dashboards open on the same view do. A `distinct` target gives every request a range of its own
 * ending a whole minute earlier than the one before (the API counts whole minutes, so ranges
 * within one minute are one read): each request is a query of its own against the engine.
 */
export const standardTargets: Record<string, { route: string; distinctSpanMs?: number }> = {
  catalog: { route: '/v1/cpis' },
  series: { route: '/v1/cpis/fast_quote?from=now-24h&step=1h' },
  drillDown: { route: '/v1/cpis/fast_quote?from=now-6h&step=5m&by=channel' },
  seriesDistinct: { route: '/v1/cpis/fast_quote?step=1h', distinctSpanMs: 24 * 3_600_000 },
  drillDownDistinct: { route: '/v1/cpis/fast_quote?step=5m&by=channel', distinctSpanMs: 6 * 3_600_000 },
}

export async function loadRoutes(
  url: string,
  targets: Record<string, { route: string; distinctSpanMs?: number }>,
  options: { connections: number; seconds: number },
): Promise<Record<string, RouteResult>> {
  const results: Record<string, RouteResult> = {}
  for (const [name, { route, distinctSpanMs }] of Object.entries(targets)) {
    const times: number[] = []
    // Ranges ending at distinct minutes of the last week, newest first (10,080 before one repeats).
    let request = 0
    const end = Date.now() - 1000
    const distinctPath = (span: number) => {
      const to = end - (request++ % 10_080) * 60_000
      return `${route}&from=${to - span}&to=${to}`
    }
    const instance = autocannon({
      url: `${url}${route}`,
      connections: options.connections,
      duration: options.seconds,
      ...(distinctSpanMs
        ? { requests: [{ setupRequest: (request) => ({ ...request, path: distinctPath(distinctSpanMs) }) }] }
        : {}),
    })
    instance.on('response', (_client, _status, _bytes, ms) => {
      times.push(ms)
    })
    const outcome = await instance
    times.sort((a, b) => a - b)
    results[name] = {
      route: distinctSpanMs
        ? `${route}&from=<to - ${distinctSpanMs / 3_600_000}h>&to=<a distinct minute>`
        : route,
      requests: outcome.requests.total,
      requestsPerSecond: Math.round(outcome.requests.total / outcome.duration),
      latencyMs: {
        p50: Number(percentile(times, 50).toFixed(1)),
        p95: Number(percentile(times, 95).toFixed(1)),
        p99: Number(percentile(times, 99).toFixed(1)),
      },
      errors: outcome.errors,
      non2xx: outcome.non2xx,
    }
  }
  return results
}

export function routeRows(results: Record<string, RouteResult>): string[] {
  return Object.entries(results).map(
    ([name, r]) =>
      `  ${name.padEnd(18)} ${String(r.requestsPerSecond).padStart(6)} req/s   p50 ${r.latencyMs.p50} ms   p95 ${r.latencyMs.p95} ms   p99 ${r.latencyMs.p99} ms   non-2xx ${r.non2xx}, errors ${r.errors}`,
  )
}
