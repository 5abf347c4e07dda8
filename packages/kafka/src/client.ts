import { readFileSync } from 'node:fs'
import type { Logger } from '@cpi/logger'
import { Kafka, type KafkaConfig, type LogEntry, logLevel, type SASLOptions } from 'kafkajs'
import { KafkaAdapterError, toKafkaError } from './errors.ts'

export interface KafkaSettings {
  brokers: string[]
  clientId: string
  connectionTimeoutMs?: number
  /** TLS to the brokers (KAFKA_SSL): the system's CAs, or only the one in `caFile` (PEM). */
  ssl?: { caFile?: string } | undefined
  /** SASL authentication (KAFKA_SASL_*); over TLS unless the network is trusted. */
  sasl?:
    | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
    | undefined
  logger: Logger
}

/**
 * The connection part of the kafkajs configuration: brokers, timeouts, TLS and SASL. Pure but
 * for reading the CA file (through `readCa`, which tests replace). Certificates are always
 * verified: there is no option to turn verification off.
 */
export function kafkaConnectionConfig(
  settings: Omit<KafkaSettings, 'logger'>,
  readCa: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): Pick<KafkaConfig, 'clientId' | 'brokers' | 'connectionTimeout' | 'ssl' | 'sasl'> {
  let ssl: KafkaConfig['ssl']
  if (settings.ssl) {
    const { caFile } = settings.ssl
    if (caFile === undefined) ssl = true
    else {
      let ca: string
      try {
        ca = readCa(caFile)
      } catch (error) {
        throw new KafkaAdapterError(
          `KAFKA_SSL_CA_FILE: cannot read ${caFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
          { retriable: false },
        )
      }
      ssl = { ca: [ca], rejectUnauthorized: true }
    }
  }
  const sasl: SASLOptions | undefined = settings.sasl
    ? settings.sasl.mechanism === 'plain'
      ? { mechanism: 'plain', username: settings.sasl.username, password: settings.sasl.password }
      : settings.sasl.mechanism === 'scram-sha-256'
        ? { mechanism: 'scram-sha-256', username: settings.sasl.username, password: settings.sasl.password }
        : { mechanism: 'scram-sha-512', username: settings.sasl.username, password: settings.sasl.password }
    : undefined
  return {
    clientId: settings.clientId,
    brokers: settings.brokers,
    connectionTimeout: settings.connectionTimeoutMs ?? 3000,
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
  }
}

// kafkajs logs at ERROR what it then retries itself (a coordinator still loading, a leader
// moving); the adapter raises what really failed as errors of its own, so these are warnings.
const levelNames: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'warn',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** A kafkajs client whose log lines go through our pino logger (quietly: warnings and up). */
export function createKafka(settings: KafkaSettings): Kafka {
  const log = settings.logger.child({ component: 'kafkajs' })
  if (settings.sasl?.mechanism === 'plain' && !settings.ssl)
    log.warn('KAFKA_SASL_MECHANISM=plain without KAFKA_SSL sends the password in clear text')
  return new Kafka({
    ...kafkaConnectionConfig(settings),
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, timestamp: _timestamp, logger: _logger, ...extra } = entry
        log[levelNames[level] ?? 'info']({ namespace, ...extra }, message)
      },
  })
}

export interface TopicSpec {
  topic: string
  numPartitions?: number
  replicationFactor?: number
  configEntries?: { name: string; value: string }[]
}

/**
 * Creates the topics that do not exist yet; existing ones are left as they are. A transient
 * failure (a fresh broker whose metadata still lags: "does not host this topic-partition") is
 * retried a few times; the retry finds a topic the failed attempt created and stops there.
 */
export async function ensureTopics(kafka: Kafka, topics: readonly TopicSpec[], attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await createMissingTopics(kafka, topics)
    } catch (error) {
      if (!(error instanceof KafkaAdapterError) || !error.retriable || attempt >= attempts) throw error
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt))
    }
  }
}

async function createMissingTopics(kafka: Kafka, topics: readonly TopicSpec[]): Promise<void> {
  const admin = kafka.admin()
  try {
    await admin.connect()
    const existing = new Set(await admin.listTopics())
    const missing = topics.filter((spec) => !existing.has(spec.topic))
    if (missing.length === 0) return
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.numPartitions ?? 3,
        replicationFactor: spec.replicationFactor ?? -1,
        ...(spec.configEntries ? { configEntries: spec.configEntries } : {}),
      })),
    })
  } catch (error) {
    // Another process may have created the same topic between list and create.
    if ((error as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return
    throw toKafkaError(error, `creating topics ${topics.map((spec) => spec.topic).join(', ')}`)
  } finally {
    await admin.disconnect()
  }
}

/** Answers whether the cluster responds to a metadata request within the timeout. */
export async function kafkaReachable(kafka: Kafka, timeoutMs: number): Promise<boolean> {
  const admin = kafka.admin({ retry: { retries: 0 } })
  let timer: NodeJS.Timeout | undefined
  try {
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    const check = (async () => {
      await admin.connect()
      const cluster = await admin.describeCluster()
      return cluster.brokers.length > 0
    })().catch(() => false)
    return await Promise.race([check, timeout])
  } catch {
    return false
  } finally {
    clearTimeout(timer)
    admin.disconnect().catch(() => undefined)
  }
}

/** Messages a consumer group has yet to consume on a topic: Σ(latest offset − committed offset). */
export async function consumerGroupLag(kafka: Kafka, groupId: string, topic: string): Promise<number> {
  const admin = kafka.admin({ retry: { retries: 0 } })
  try {
    await admin.connect()
    const [latest, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId, topics: [topic] }),
    ])
    const done = new Map(
      (committed[0]?.partitions ?? []).map((partition) => [partition.partition, Number(partition.offset)]),
    )
    let lag = 0
    for (const partition of latest) {
      const end = Number(partition.high)
      const at = done.get(partition.partition) ?? -1
      // -1: nothing committed yet, the whole partition (from its low offset) is still to do.
      lag += at < 0 ? end - Number(partition.low) : Math.max(0, end - at)
    }
    return lag
  } catch (error) {
    throw toKafkaError(error, `reading the lag of group ${groupId} on ${topic}`)
  } finally {
    await admin.disconnect().catch(() => undefined)
  }
}
