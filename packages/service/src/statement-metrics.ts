import { observeStatements } from '@cpi/clickhouse'
import { histogram } from '@cpi/runtime'
import type { Registry } from 'prom-client'

/**
 * Every declared ClickHouse statement this process runs, timed by name, kind and outcome
 * (`cpi_clickhouse_statement_seconds`): where a service waits on the store, and what fails.
 * Returns the observer's removal.
 */
export function recordStatementMetrics(registry: Registry): () => void {
  const seconds = histogram(registry, {
    name: 'cpi_clickhouse_statement_seconds',
    help: 'Time of each declared ClickHouse statement, by statement name, kind (query, insert, command) and outcome (ok, error)',
    labelNames: ['statement', 'kind', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  })
  return observeStatements((run) =>
    seconds.observe(
      { statement: run.name, kind: run.kind, outcome: run.error ? 'error' : 'ok' },
      run.seconds,
    ),
  )
}
