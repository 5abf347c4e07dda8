import { type DestinationStream, type Logger, type LoggerOptions, pino } from 'pino'

export type { Logger } from 'pino'

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
export const REDACTED_KEYS = [
  'authorization',
  'password',
  'token',
  'apiKey',
  'secret',
  'keys',
  'ingestKey',
  'ingestKeys',
]

const redactPaths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `headers.${key}`])

export interface LoggerSettings {
  /** The process or service name; every line carries it as `service`. */
  service: string
  level?: LoggerOptions['level']
  /** Where lines go; standard output when absent. Tests pass a stream to read them back. */
  destination?: DestinationStream
}

/**
 * The one logger factory. Services take child loggers from it that carry `topic`,
 * `partition`, `offset` or `eventId`; errors are logged as `{ err }`.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { service: settings.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
  }
  return settings.destination ? pino(options, settings.destination) : pino(options)
}
