import { readFile } from 'node:fs/promises'
import { type ClickHouse, createRollupCache } from '@cpi/clickhouse'
import type { Config } from '@cpi/config'
import { builtinCatalogFile, type CpiDefinition, loadCatalog } from '@cpi/cpi-core'
import { consumerGroupLag } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { environmentKeyEntries, type KeySource, startKeySource } from '@cpi/runtime'
import type { FastifyInstance } from 'fastify'
import type { Kafka } from 'kafkajs'
import { registerAnalyticsRoutes } from './analytics.routes.ts'
import { registerApiRoutes } from './api.routes.ts'
import { apiAccess } from './auth.ts'
import { registerDashboardRoutes } from './dashboard.routes.ts'
import { loadExperimentDesigns } from './experiment-designs.ts'
import { createLiveState } from './live.ts'
import { registerStream } from './stream.ts'

const runbookFile = new URL('../../../docs/alerting.md', import.meta.url)

/** The configuration the API reads: its own slice, access keys, the catalog files, the topics, the alert policy. */
export type ApiConfig = Pick<
  Config,
  'api' | 'access' | 'ingest' | 'mode' | 'processor' | 'topics' | 'alerter'
>

export interface Api {
  catalog: readonly CpiDefinition[]
  /** Ends the live streams; call before closing the HTTP server. */
  stop(): void
  streamClients(): number
}

/**
 * The query API, the live stream and the dashboard on an HTTP server the caller owns (its own
 * process, or the all-in-one one). Reads go through the ClickHouse query path only.
 */
export async function startApi(options: {
  config: ApiConfig
  clickhouse: ClickHouse
  http: FastifyInstance
  logger: Logger
  kafka?: Kafka
  catalog?: readonly CpiDefinition[]
  /** The keys shared with the ingest gateway (the all-in-one process); else the API reads its own. */
  access?: KeySource
}): Promise<Api> {
  const { config, clickhouse, http, logger, kafka } = options
  const catalog =
    options.catalog ?? (await loadCatalog([builtinCatalogFile, ...config.processor.catalogFiles]))
  const live = createLiveState({
    clickhouse,
    catalog,
    logger,
    eventsTopic: config.topics.events,
    ...(kafka
      ? { consumerLag: () => consumerGroupLag(kafka, config.processor.groupId, config.topics.events) }
      : {}),
  })

  // Alone, the API knows CPI_INGEST_KEYS too, so an ingest key gets 403 (wrong scope), not 401.
  const ownAccess = options.access
    ? undefined
    : await startKeySource({
        base: environmentKeyEntries({ ingestKeys: config.ingest.keys, readTokens: config.api.readTokens }),
        file: config.access.keysFile,
        reloadMs: config.access.reloadMs,
        logger,
      })
  const access = options.access ?? (ownAccess as KeySource)
  http.addHook('onRequest', apiAccess({ keys: () => access.current(), mode: config.mode }))
  // Series reads from rollup blocks held in memory, dropped twice a second when rows change.
  const rollups =
    config.api.rollupCacheBytes > 0
      ? createRollupCache(clickhouse, { maxBytes: config.api.rollupCacheBytes })
      : undefined
  let following = false
  const follower = rollups
    ? setInterval(() => {
        if (following) return
        following = true
        rollups
          .follow()
          .catch((error: unknown) => logger.warn({ err: error }, 'could not follow the rollup; retrying'))
          .finally(() => {
            following = false
          })
      }, 500)
    : undefined
  follower?.unref()
  registerApiRoutes(http, {
    clickhouse,
    catalog,
    live,
    policy: config.alerter.policy,
    ...(rollups ? { rollups } : {}),
  })
  registerAnalyticsRoutes(http, {
    clickhouse,
    catalog,
    live,
    eventsTopic: config.topics.events,
    designs: await loadExperimentDesigns(config.api.experimentsFile),
  })
  const stream = registerStream(http, {
    live,
    intervalMs: config.api.streamIntervalMs,
    logger,
    maxClients: config.api.streamMaxClients,
    maxBufferBytes: config.api.streamMaxBufferBytes,
  })
  registerDashboardRoutes(http)
  const runbook = await readFile(runbookFile, 'utf8').catch(
    () => '# Runbook\n\nSee docs/alerting.md in the repository.\n',
  )
  http.get('/runbook', async (_request, reply) => reply.type('text/markdown; charset=utf-8').send(runbook))
  // Open streams would keep the server from closing.
  http.addHook('preClose', async () => stream.stop())
  http.addHook('onClose', async () => {
    ownAccess?.stop()
    clearInterval(follower)
  })

  return {
    catalog,
    stop: () => {
      stream.stop()
      ownAccess?.stop()
      clearInterval(follower)
    },
    streamClients: stream.clients,
  }
}
