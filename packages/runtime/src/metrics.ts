import type { FastifyInstance } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** One Prometheus registry per process, with Node's own metrics (memory, event loop lag, GC). */
export function createMetricsRegistry(labels: { service: string }): Registry {
  const registry = new Registry()
  registry.setDefaultLabels(labels)
  collectDefaultMetrics({ register: registry, prefix: 'cpi_node_' })
  return registry
}

/** `GET /metrics` in the Prometheus text format. */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', registry.contentType)
    return registry.metrics()
  })
}

/**
 * The counter of that name in the registry, created on first use. Services of the all-in-one
 * process share one registry, and some share a metric (rejections by origin and reason).
 */
export function counter<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly L[] },
): Counter<L> {
  const existing = registry.getSingleMetric(config.name)
  if (existing) return existing as Counter<L>
  return new Counter<L>({ ...config, labelNames: config.labelNames ?? [], registers: [registry] })
}

export function histogram<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly L[]; buckets: number[] },
): Histogram<L> {
  const existing = registry.getSingleMetric(config.name)
  if (existing) return existing as Histogram<L>
  return new Histogram<L>({ ...config, labelNames: config.labelNames ?? [], registers: [registry] })
}

export function gauge<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly L[] },
): Gauge<L> {
  const existing = registry.getSingleMetric(config.name)
  if (existing) return existing as Gauge<L>
  return new Gauge<L>({ ...config, labelNames: config.labelNames ?? [], registers: [registry] })
}

/** Every rejected event, by where it was rejected (`ingest`, `processor`) and why. */
export function rejectedEventsCounter(registry: Registry): Counter<'origin' | 'reason'> {
  return counter(registry, {
    name: 'cpi_rejected_events_total',
    help: 'Rejected events by where they were rejected and why',
    labelNames: ['origin', 'reason'] as const,
  })
}
