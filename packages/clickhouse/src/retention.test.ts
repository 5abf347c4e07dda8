import { describe, expect, it } from 'vitest'
import { tableTtl, ttlExpression } from './retention.ts'

describe('tableTtl', () => {
  it('reads the table TTL of a CREATE TABLE statement as ClickHouse prints it', () => {
    const withTtl =
      "CREATE TABLE cpi.events (`id` String, `time` DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(time) ORDER BY (subject, id) TTL toDateTime(time) + toIntervalDay(30) SETTINGS index_granularity = 8192"
    expect(tableTtl(withTtl)).toBe('toDateTime(time) + toIntervalDay(30)')
    expect(tableTtl(withTtl)).toBe(ttlExpression('toDateTime(time)', 30))
  })

  it('finds none where there is none', () => {
    expect(
      tableTtl(
        'CREATE TABLE cpi.events (`id` String) ENGINE = ReplacingMergeTree ORDER BY id SETTINGS index_granularity = 8192',
      ),
    ).toBeUndefined()
  })
})
