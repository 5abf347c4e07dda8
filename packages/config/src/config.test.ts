import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { environmentVariableNames, loadConfig } from './config.ts'
import { ConfigError } from './parse-env.ts'

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env)
  } catch (error) {
    if (error instanceof ConfigError) return error
    throw error
  }
  throw new Error('expected a ConfigError')
}

describe('loadConfig', () => {
  it('runs with no variables at all: embedded engine, local broker, port 8080', () => {
    const config = loadConfig({})
    expect(config.http).toEqual({ port: 8080, host: '127.0.0.1' })
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092'])
    expect(config.clickhouse).toMatchObject({ kind: 'embedded', database: 'cpi' })
    expect(config.clickhouse.kind === 'embedded' && config.clickhouse.path).toMatch(/\.data\/clickhouse$/)
  })

  it('uses the HTTP client when CLICKHOUSE_URL is set', () => {
    const config = loadConfig({ CLICKHOUSE_URL: 'http://localhost:8123', CLICKHOUSE_DATABASE: 'cpi_prod' })
    expect(config.clickhouse).toEqual({
      kind: 'http',
      url: 'http://localhost:8123',
      username: 'default',
      password: '',
      database: 'cpi_prod',
    })
  })

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', KAFKA_BROKERS: ' ' }).http.port).toBe(8080)
  })

  it('splits KAFKA_BROKERS and trims each entry', () => {
    expect(loadConfig({ KAFKA_BROKERS: 'a:9092, b:9093' }).kafka.brokers).toEqual(['a:9092', 'b:9093'])
  })

  it('names the variable, the rule and the value it got', () => {
    const error = configError({ PORT: 'eighty', KAFKA_BROKERS: 'nohostport' })
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual(['KAFKA_BROKERS', 'PORT'])
    expect(error.message).toMatch(/PORT: .*number.*\(got "eighty"\)/)
    expect(error.message).toMatch(/KAFKA_BROKERS: entry 1: expected host:port \(got "nohostport"\)/)
  })

  it('refuses a remote ClickHouse without a password, and accepts a local one', () => {
    const error = configError({ CLICKHOUSE_URL: 'https://ch.example.com:8443' })
    expect(error.issues).toEqual([
      { variable: 'CLICKHOUSE_PASSWORD', message: expect.stringContaining('remote') },
    ])
    expect(() => loadConfig({ CLICKHOUSE_URL: 'http://127.0.0.1:8123' })).not.toThrow()
  })

  it('refuses a database name that is not an identifier', () => {
    expect(configError({ CLICKHOUSE_DATABASE: 'cpi; DROP' }).issues[0]?.variable).toBe('CLICKHOUSE_DATABASE')
  })
})

describe('docs/configuration.md', () => {
  it('documents every variable the schema reads', () => {
    const reference = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')
    const undocumented = environmentVariableNames.filter((name) => !reference.includes(`| \`${name}\` |`))
    expect(undocumented).toEqual([])
  })
})
