import kafkajs from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { isRetriable, KafkaAdapterError, toKafkaError } from './errors.ts'

const {
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSProtocolError,
  KafkaJSNumberOfRetriesExceeded,
} = kafkajs

describe('toKafkaError', () => {
  it('keeps kafkajs protocol retriability and names the protocol error', () => {
    const notLeader = new KafkaJSProtocolError({
      type: 'NOT_LEADER_FOR_PARTITION',
      code: 6,
      retriable: true,
      message: 'not leader',
    } as never)
    expect(toKafkaError(notLeader, 'produce')).toMatchObject({
      retriable: true,
      code: 'NOT_LEADER_FOR_PARTITION',
    })
    const tooLarge = new KafkaJSProtocolError({
      type: 'MESSAGE_TOO_LARGE',
      code: 10,
      retriable: false,
      message: 'too large',
    } as never)
    expect(toKafkaError(tooLarge, 'produce').retriable).toBe(false)
  })

  it('treats a broker that cannot be reached as transient even after kafkajs gave up', () => {
    const exhausted = new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('refused'), {
      retryCount: 5,
      retryTime: 1000,
    })
    expect(toKafkaError(exhausted, 'connect').retriable).toBe(true)
    expect(toKafkaError(new KafkaJSConnectionError('refused'), 'connect').retriable).toBe(true)
  })

  it('treats non-retriable and unknown errors as permanent', () => {
    expect(toKafkaError(new KafkaJSNonRetriableError('nope'), 'x').retriable).toBe(false)
    expect(toKafkaError(new Error('odd'), 'x')).toBeInstanceOf(KafkaAdapterError)
    expect(toKafkaError(new Error('odd'), 'x').retriable).toBe(false)
  })

  it('isRetriable reads the flag of any adapter error', () => {
    expect(isRetriable(new KafkaAdapterError('a', { retriable: true }))).toBe(true)
    expect(isRetriable({ retriable: true })).toBe(true)
    expect(isRetriable(new Error('plain'))).toBe(false)
    expect(isRetriable(undefined)).toBe(false)
  })
})
