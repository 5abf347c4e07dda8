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

describe('security settings', () => {
  it('leaves Kafka plaintext and unauthenticated by default', () => {
    const { kafka } = loadConfig({})
    expect(kafka.ssl).toBeUndefined()
    expect(kafka.sasl).toBeUndefined()
  })

  it('turns TLS on with KAFKA_SSL=on or a CA file, and maps SASL', () => {
    expect(loadConfig({ KAFKA_SSL: 'on' }).kafka.ssl).toEqual({})
    expect(loadConfig({ KAFKA_SSL_CA_FILE: '/etc/kafka/ca.pem' }).kafka.ssl).toEqual({
      caFile: '/etc/kafka/ca.pem',
    })
    const config = loadConfig({
      KAFKA_SSL: 'on',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'cpi',
      KAFKA_SASL_PASSWORD: 'secret-password',
    })
    expect(config.kafka.sasl).toEqual({
      mechanism: 'scram-sha-512',
      username: 'cpi',
      password: 'secret-password',
    })
  })

  it('refuses half a SASL or TLS configuration, naming what is missing', () => {
    expect(configError({ KAFKA_SASL_MECHANISM: 'plain' }).issues.map((issue) => issue.variable)).toEqual([
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
    ])
    expect(configError({ KAFKA_SASL_USERNAME: 'cpi' }).issues[0]?.variable).toBe('KAFKA_SASL_MECHANISM')
    expect(configError({ KAFKA_SASL_MECHANISM: 'gssapi' }).issues[0]?.variable).toBe('KAFKA_SASL_MECHANISM')
    expect(configError({ KAFKA_SSL: 'off', KAFKA_SSL_CA_FILE: 'ca.pem' }).issues[0]?.variable).toBe(
      'KAFKA_SSL_CA_FILE',
    )
  })

  it('never repeats a secret in a configuration error', () => {
    const error = configError({
      CPI_PSEUDONYMIZE_KEY: 'too-short-secret',
      CPI_INGEST_KEYS: 'good-key-0123456789,short-key',
    })
    expect(error.issues.map((issue) => issue.variable).sort()).toEqual([
      'CPI_INGEST_KEYS',
      'CPI_PSEUDONYMIZE_KEY',
    ])
    expect(error.message).toMatch(
      /CPI_PSEUDONYMIZE_KEY: expected a key of at least 32 characters \(got a value of 16 characters, not shown\)/,
    )
    expect(error.message).not.toContain('too-short-secret')
    expect(error.message).not.toContain('short-key')
    // Webhook URLs are credentials too (Slack's carry the secret in the path).
    const webhook = configError({
      CPI_ALERT_SLACK_WEBHOOK_URLS: 'https://hooks.slack.com/services/T000/B000/SECRETPART,ftp://x',
    })
    expect(webhook.issues.map((issue) => issue.variable)).toEqual(['CPI_ALERT_SLACK_WEBHOOK_URLS'])
    expect(webhook.message).not.toContain('SECRETPART')
  })

  it('reads the keys file, the pseudonymization key and the retention days', () => {
    const config = loadConfig({
      CPI_KEYS_FILE: 'keys.json',
      CPI_PSEUDONYMIZE_KEY: 'k'.repeat(32),
      CPI_RETENTION_EVENTS_DAYS: '400',
      CPI_RETENTION_REJECTED_DAYS: '0',
    })
    expect(config.access.keysFile).toMatch(/\/keys\.json$/)
    expect(config.access.reloadMs).toBe(5000)
    expect(config.processor.pseudonymizeKey).toBe('k'.repeat(32))
    expect(config.retention).toEqual({ eventsDays: 400, rejectedDays: 0, alertsDays: undefined })
    expect(loadConfig({}).retention).toEqual({
      eventsDays: undefined,
      rejectedDays: undefined,
      alertsDays: undefined,
    })
    expect(configError({ CPI_RETENTION_ALERTS_DAYS: '-1' }).issues[0]?.variable).toBe(
      'CPI_RETENTION_ALERTS_DAYS',
    )
  })
})

describe('alerter settings', () => {
  it('names alert receivers: name=url, or a bare URL named by kind and position (older lists keep working)', () => {
    const config = loadConfig({
      CPI_ALERT_WEBHOOK_URLS: 'oncall=https://hooks.example.com/a?x=1, https://audit.example.com/b?y=2',
      CPI_ALERT_SLACK_WEBHOOK_URLS: 'https://hooks.slack.com/services/T/B/C',
    })
    expect(config.alerter.webhooks).toEqual([
      { name: 'oncall', url: 'https://hooks.example.com/a?x=1' },
      { name: 'webhook-2', url: 'https://audit.example.com/b?y=2' },
    ])
    expect(config.alerter.slackWebhooks).toEqual([
      { name: 'slack-1', url: 'https://hooks.slack.com/services/T/B/C' },
    ])
    expect(loadConfig({}).alerter).toMatchObject({ webhooks: [], slackWebhooks: [], stallAfterMs: 300_000 })
    expect(loadConfig({ CPI_ALERT_STALL_MS: '60000' }).alerter.stallAfterMs).toBe(60_000)
  })

  it('refuses two receivers of one name (deliveries are recorded by name), or one named like the alerts topic, without repeating the URLs', () => {
    const duplicate = configError({
      CPI_ALERT_WEBHOOK_URLS: 'oncall=https://a.example.com/SECRETA',
      CPI_ALERT_SLACK_WEBHOOK_URLS: 'oncall=https://hooks.slack.com/SECRETB',
    })
    expect(duplicate.issues.map((issue) => issue.variable)).toEqual(['CPI_ALERT_SLACK_WEBHOOK_URLS'])
    expect(duplicate.message).toMatch(
      /receiver name oncall is taken \(by another receiver\): give each its own name=/,
    )
    expect(duplicate.message).not.toMatch(/SECRET/)
    expect(configError({ CPI_ALERT_WEBHOOK_URLS: 'kafka=https://a.example.com/' }).message).toMatch(
      /receiver name kafka is taken \(by another receiver, or the alerts topic\)/,
    )
    const bad = configError({ CPI_ALERT_WEBHOOK_URLS: 'oncall=ftp://a.example.com/SECRETC' })
    expect(bad.issues.map((issue) => issue.variable)).toEqual(['CPI_ALERT_WEBHOOK_URLS'])
    expect(bad.message).not.toContain('SECRETC')
    expect(configError({ CPI_ALERT_STALL_MS: '0' }).issues[0]?.variable).toBe('CPI_ALERT_STALL_MS')
  })
})

describe('docs/configuration.md', () => {
  it('documents every variable the schema reads', () => {
    const reference = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')
    const undocumented = environmentVariableNames.filter((name) => !reference.includes(`| \`${name}\` |`))
    expect(undocumented).toEqual([])
  })
})
