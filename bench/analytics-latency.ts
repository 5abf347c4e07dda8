// Cold latency of the analytics endpoints: each request is a distinct read (a different `to`
// or window), so none is served from the API's shared-read cache. Sequential, one client: the
// figure is the engine's time per analysis on the stored data.
import { percentile } from './support.ts'

export interface AnalyticsLatency {
  route: string
  runs: number
  latencyMs: { p50: number; max: number }
}

const routes: Record<string, (run: number) => string> = {
  perception: (run) => `/v1/analytics/perception?from=now-30d&to=${Date.now() - run}`,
  linkage: (run) => `/v1/analytics/linkage?from=now-30d&to=${Date.now() - run}`,
  experiments: (run) => `/v1/analytics/experiments?from=now-30d&to=${Date.now() - run}`,
  index: (run) => `/v1/analytics/index?window=${60 + run}m`,
  scorecards: (run) => `/v1/analytics/scorecards?window=${60 + run}m`,
}

export async function measureAnalytics(url: string, runs = 5): Promise<Record<string, AnalyticsLatency>> {
  const results: Record<string, AnalyticsLatency> = {}
  for (const [name, route] of Object.entries(routes)) {
    const times: number[] = []
    for (let run = 0; run < runs; run++) {
      const started = performance.now()
      const response = await fetch(`${url}${route(run)}`)
      await response.arrayBuffer()
      if (!response.ok) throw new Error(`${name}: HTTP ${response.status} for ${route(run)}`)
      times.push(performance.now() - started)
    }
    times.sort((a, b) => a - b)
    results[name] = {
      route: route(0).replace(/to=\d+/, 'to=<distinct>'),
      runs,
      latencyMs: {
        p50: Number(percentile(times, 50).toFixed(1)),
        max: Number((times.at(-1) ?? 0).toFixed(1)),
      },
    }
  }
  return results
}

export function analyticsRows(results: Record<string, AnalyticsLatency>): string[] {
  return Object.entries(results).map(
    ([name, r]) =>
      `  ${name.padEnd(18)} cold, ${r.runs} runs   p50 ${r.latencyMs.p50} ms   max ${r.latencyMs.max} ms`,
  )
}
