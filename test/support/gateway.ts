import { loadConfig } from '@cpi/config'
import { type IngestGateway, startIngestGateway } from '@cpi/ingest'
import { createKafka } from '@cpi/kafka'
import type { Logger } from '@cpi/logger'
import { createHttpServer, createMetricsRegistry, registerMetricsRoute } from '@cpi/runtime'
import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import { testEnvironment, uniqueName } from './environment.ts'

export const TEST_KEY = 'test-ingest-key-0123456789'

export interface TestGateway {
  url: string
  http: FastifyInstance
  gateway: IngestGateway
  registry: Registry
  topics: { events: string; deadLetter: string }
  post(
    body: unknown,
    options?: { contentType?: string; key?: string | null; headers?: Record<string, string> },
  ): Promise<{
    status: number
    headers: Headers
    body: Record<string, unknown>
  }>
  close(): Promise<void>
}

/** An ingest gateway in this process on a free port, with topics of its own. */
export async function startTestGateway(
  logger: Logger,
  env: Record<string, string> = {},
  options: { awaitKafka?: boolean } = {},
): Promise<TestGateway> {
  const config = loadConfig({
    KAFKA_BROKERS: testEnvironment().kafkaBrokers.join(','),
    CPI_EVENTS_TOPIC: uniqueName('events'),
    CPI_DEAD_LETTER_TOPIC: uniqueName('dlq'),
    CPI_EVENTS_PARTITIONS: '3',
    CPI_INGEST_KEYS: TEST_KEY,
    PORT: '1',
    ...env,
  })
  const kafka = createKafka({ ...config.kafka, logger })
  const http = createHttpServer(logger, {
    bodyLimitBytes: config.ingest.maxBodyBytes,
    limits: config.httpLimits,
  })
  const registry = createMetricsRegistry({ service: 'test-gateway' })
  const gateway = await startIngestGateway({ config, kafka, http, registry, logger })
  registerMetricsRoute(http, registry)
  if (options.awaitKafka ?? true) await gateway.ready
  const url = await http.listen({ port: 0, host: '127.0.0.1' })
  return {
    url,
    http,
    gateway,
    registry,
    topics: config.topics,
    async post(body, options = {}) {
      const headers: Record<string, string> = {
        'content-type': options.contentType ?? 'application/cloudevents+json',
        ...options.headers,
      }
      const key = options.key === undefined ? TEST_KEY : options.key
      if (key !== null) headers.authorization = `Bearer ${key}`
      const response = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : JSON.stringify(body),
      })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} }
    },
    async close() {
      await http.close()
      await gateway.stop()
    },
  }
}
