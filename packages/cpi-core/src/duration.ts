import { z } from 'zod'

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** A duration written as a number and a unit (`30s`, `2h`, `7d`), parsed to milliseconds. */
export const durationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, { error: 'a duration such as 30s, 5m, 2h or 7d' })
  .transform((text) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text) as RegExpExecArray
    return Math.round(Number(match[1]) * UNITS[match[2] as keyof typeof UNITS])
  })
