import { z } from 'zod'

// Building blocks whose error text is the expectation itself ("integer >= 1"); the validator
// turns it into `expected integer >= 1, got "three"`.

export const rfc3339 = () =>
  z.iso.datetime({
    offset: true,
    error: 'an RFC 3339 date-time with a time zone, e.g. 2026-11-22T10:15:02.311Z',
  })

export const integerAtLeast = (minimum: number) =>
  z
    .int({ error: `integer >= ${minimum}` })
    .min(minimum, { error: `integer >= ${minimum}` })
    .max(1_000_000_000, { error: `integer >= ${minimum} and <= 1000000000` })

export const integerBetween = (minimum: number, maximum: number) =>
  z
    .int({ error: `integer from ${minimum} to ${maximum}` })
    .min(minimum, { error: `integer from ${minimum} to ${maximum}` })
    .max(maximum, { error: `integer from ${minimum} to ${maximum}` })

export const text = (maximum = 256) =>
  z
    .string({ error: `string of 1 to ${maximum} characters` })
    .min(1, { error: `string of 1 to ${maximum} characters` })
    .max(maximum, { error: `string of 1 to ${maximum} characters` })

export const amount = () => z.number({ error: 'number >= 0' }).nonnegative({ error: 'number >= 0' })

export const currency = () => z.string().regex(/^[A-Z]{3}$/, { error: 'ISO 4217 currency code, e.g. EUR' })

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `one of ${values.map((value) => JSON.stringify(value)).join(', ')}` })
