import { describe, expect, it } from 'vitest'
import { kafkaConnectionConfig } from './client.ts'
import { KafkaAdapterError } from './errors.ts'

// No TLS or SASL broker runs here: these check what reaches kafkajs, not a handshake.
const base = { brokers: ['kafka-1:9093', 'kafka-2:9093'], clientId: 'cpi-test', connectionTimeoutMs: 4000 }

describe('kafkaConnectionConfig', () => {
  it('passes neither ssl nor sasl when none is configured (plaintext, as before)', () => {
    const config = kafkaConnectionConfig(base)
    expect(config).toEqual({ clientId: 'cpi-test', brokers: base.brokers, connectionTimeout: 4000 })
    expect('ssl' in config).toBe(false)
    expect('sasl' in config).toBe(false)
  })

  it('turns TLS on with the system CAs when no CA file is given', () => {
    expect(kafkaConnectionConfig({ ...base, ssl: {} }).ssl).toBe(true)
  })

  it('trusts only the CA of KAFKA_SSL_CA_FILE, and always verifies the broker', () => {
    const read: string[] = []
    const config = kafkaConnectionConfig({ ...base, ssl: { caFile: '/etc/kafka/ca.pem' } }, (file) => {
      read.push(file)
      return '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'
    })
    expect(read).toEqual(['/etc/kafka/ca.pem'])
    expect(config.ssl).toEqual({
      ca: ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'],
      rejectUnauthorized: true,
    })
  })

  it('names the CA file it cannot read', () => {
    const missing = () =>
      kafkaConnectionConfig({ ...base, ssl: { caFile: '/nope/ca.pem' } }, () => {
        throw Object.assign(new Error('no such file'), { code: 'ENOENT' })
      })
    expect(missing).toThrow(KafkaAdapterError)
    expect(missing).toThrow('KAFKA_SSL_CA_FILE: cannot read /nope/ca.pem (ENOENT)')
  })

  for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
    it(`maps SASL ${mechanism} with its username and password`, () => {
      const config = kafkaConnectionConfig({
        ...base,
        ssl: {},
        sasl: { mechanism, username: 'cpi', password: 'pw-0123456789' },
      })
      expect(config.sasl).toEqual({ mechanism, username: 'cpi', password: 'pw-0123456789' })
      expect(config.ssl).toBe(true)
    })
  }
})
