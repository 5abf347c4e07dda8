import { counter, gauge, histogram, rejectedEventsCounter } from '@cpi/runtime'
import type { Registry } from 'prom-client'
import type { StageTimer } from './outcome-stage.ts'

/** Every metric the event processor keeps, registered once per registry. */
export function createProcessorMetrics(registry: Registry) {
  const stageSeconds = histogram(registry, {
    name: 'cpi_processor_stage_seconds',
    help: 'Time a group of batches or a sweep spent in each stage (where the processor waits)',
    labelNames: ['stage'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  })
  const timer: StageTimer = (stage, seconds) => stageSeconds.observe({ stage }, seconds)
  return { timer, ...messageMetrics(registry), ...outcomeMetrics(registry), ...partitionMetrics(registry) }
}

export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>

/** What became of the messages of the events topic, and how batches went. */
function messageMetrics(registry: Registry) {
  return {
    messages: counter(registry, {
      name: 'cpi_processor_events_total',
      help: 'Messages of the events topic by outcome',
      labelNames: ['outcome'] as const,
    }),
    rejections: rejectedEventsCounter(registry),
    groupFailures: counter(registry, {
      name: 'cpi_processor_group_failures_total',
      help: 'Groups of batches that failed and are retried (their partitions start again from storage)',
    }),
    batchSizes: histogram(registry, {
      name: 'cpi_processor_batch_size',
      help: 'Messages per processed batch',
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 10_000],
    }),
    writeSeconds: histogram(registry, {
      name: 'cpi_processor_write_seconds',
      help: 'Time to make one batch durable (ClickHouse insert and dead letters)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    tooLate: counter(registry, {
      name: 'cpi_events_too_late_total',
      help: 'Events that came later than the allowed lateness: stored, left out of CPIs',
    }),
    clamped: counter(registry, {
      name: 'cpi_clock_clamped_total',
      help: 'Record timestamps no date can hold or ahead of the wall clock by more than the allowed skew (judged against the capped clock), and event times that would have moved a partition clock past it',
      labelNames: ['what'] as const,
    }),
  }
}

/** Outcome rows written, skipped as unchanged or refused, and the keyed state's size. */
function outcomeMetrics(registry: Registry) {
  return {
    refusedOutcomes: counter(registry, {
      name: 'cpi_outcomes_refused_total',
      help: 'Outcome rows the store refused for their content: left out so the partition moves on',
      labelNames: ['cpi'] as const,
    }),
    outcomeRows: counter(registry, {
      name: 'cpi_outcomes_written_total',
      help: 'Outcome rows written (recomputations included)',
      labelNames: ['trigger'] as const,
    }),
    unchangedRows: counter(registry, {
      name: 'cpi_outcomes_unchanged_total',
      help: 'Outcome rows decided again with the content this process last wrote for them: not written again',
      labelNames: ['trigger'] as const,
    }),
    stateLookups: counter(registry, {
      name: 'cpi_processor_state_lookups_total',
      help: 'Interactions a batch or sweep needed, by whether the keyed state held them (hit) or they were read from ClickHouse (miss)',
      labelNames: ['result'] as const,
    }),
    stateBytes: gauge(registry, {
      name: 'cpi_processor_state_bytes',
      help: 'Estimated bytes held by the keyed state (stored events of interactions in work)',
    }),
    stateSize: gauge(registry, {
      name: 'cpi_processor_state_interactions',
      help: 'Interactions held by the keyed state',
    }),
  }
}

/** Per partition of the events topic: freshness, lag and watermark. */
function partitionMetrics(registry: Registry) {
  return {
    freshness: gauge(registry, {
      name: 'cpi_processor_last_event_time_seconds',
      help: 'Latest event time processed, per partition of the events topic (freshness)',
      labelNames: ['partition'] as const,
    }),
    lag: gauge(registry, {
      name: 'cpi_consumer_lag_messages',
      help: 'Messages of the events topic not yet processed and committed, per partition (as of the last batch)',
      labelNames: ['partition'] as const,
    }),
    watermark: gauge(registry, {
      name: 'cpi_processor_watermark_seconds',
      help: 'Event-time watermark per partition',
      labelNames: ['partition'] as const,
    }),
  }
}
