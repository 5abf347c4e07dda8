import path from 'node:path'
import { z } from 'zod'
import { parseEnv } from './parse-env.ts'

const port = z.coerce.number().int().min(1).max(65_535)
const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier (letters, digits, underscore)')
const brokerList = z
  .string()
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d+$/, 'expected host:port')).min(1))

/**
 * Every environment variable the services read, with its default. docs/configuration.md
 * documents each; a test there keeps the two lists equal.
 */
const environmentShape = z.object({
  PORT: port.default(8080),
  HOST: z.string().default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: brokerList.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().default('cpi-pipeline'),
  KAFKA_CONNECTION_TIMEOUT_MS: z.coerce.number().int().positive().default(3000),
  CLICKHOUSE_URL: z.url({ protocol: /^https?$/ }).optional(),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: identifier.default('cpi'),
  CLICKHOUSE_PATH: z.string().default('.data/clickhouse'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(15_000),
  CPI_READY_CHECK_TIMEOUT_MS: z.coerce.number().int().positive().default(2000),
})

/** The names of every variable in the schema, for the documentation check. */
export const environmentVariableNames: readonly string[] = Object.keys(environmentShape.shape)

export const configSchema = environmentShape
  .superRefine((env, context) => {
    if (
      env.CLICKHOUSE_URL &&
      env.CLICKHOUSE_PASSWORD === '' &&
      !/^https?:\/\/(localhost|127\.)/.test(env.CLICKHOUSE_URL)
    ) {
      context.addIssue({
        code: 'custom',
        path: ['CLICKHOUSE_PASSWORD'],
        message: 'a remote CLICKHOUSE_URL needs CLICKHOUSE_PASSWORD (empty passwords only on localhost)',
      })
    }
  })
  .transform((env) => ({
    http: { port: env.PORT, host: env.HOST },
    log: { level: env.LOG_LEVEL },
    kafka: {
      brokers: env.KAFKA_BROKERS,
      clientId: env.KAFKA_CLIENT_ID,
      connectionTimeoutMs: env.KAFKA_CONNECTION_TIMEOUT_MS,
    },
    clickhouse: env.CLICKHOUSE_URL
      ? {
          kind: 'http' as const,
          url: env.CLICKHOUSE_URL,
          username: env.CLICKHOUSE_USER,
          password: env.CLICKHOUSE_PASSWORD,
          database: env.CLICKHOUSE_DATABASE,
        }
      : {
          kind: 'embedded' as const,
          path: path.resolve(env.CLICKHOUSE_PATH),
          database: env.CLICKHOUSE_DATABASE,
        },
    readyCheckTimeoutMs: env.CPI_READY_CHECK_TIMEOUT_MS,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  }))

export type Config = z.infer<typeof configSchema>

/** Parses the whole configuration once, at start-up; throws ConfigError naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  return parseEnv(configSchema, env)
}
