import { describe, expect, it } from 'vitest'
import { PartitionClock } from './partition-clock.ts'

const S = 1000
const clock = () => new PartitionClock({ idleAfterMs: 5 * S, allowedLatenessMs: 60 * S })

describe('PartitionClock', () => {
  it('follows the latest event time of the partition, not the wall clock, while events flow', () => {
    const partitions = clock()
    const lastMonth = Date.parse('2026-10-01T00:00:00Z')
    const now = Date.parse('2026-11-22T10:00:00Z')
    partitions.observe(0, lastMonth, now)
    partitions.observe(0, lastMonth + 10 * S, now + 1)
    expect(partitions.watermark(0, now + 2)).toBe(lastMonth + 10 * S)
    expect(partitions.watermark(1, now)).toBeUndefined()
  })

  it('advances with the wall clock once the partition is quiet, and never moves back', () => {
    const partitions = clock()
    partitions.observe(0, 1_000_000, 0)
    expect(partitions.watermark(0, 5 * S)).toBe(1_000_000)
    expect(partitions.watermark(0, 8 * S)).toBe(1_000_000 + 3 * S)
    // A new event resets the idle time, but the watermark already given stays.
    partitions.observe(0, 1_000_500, 9 * S)
    expect(partitions.watermark(0, 9 * S)).toBe(1_000_000 + 3 * S)
  })

  it('calls an event too late only beyond the allowed lateness', () => {
    const partitions = clock()
    partitions.observe(0, 100 * S, 0)
    expect(partitions.observe(0, 40 * S, 0)).toEqual({ tooLate: false, clamped: false })
    expect(partitions.observe(0, 40 * S - 1, 0)).toEqual({ tooLate: true, clamped: false })
    expect(partitions.maxEventTime(0)).toBe(100 * S)
  })

  it('restarts a partition from the stored latest event time', () => {
    const partitions = clock()
    partitions.start(2, 500 * S, 0, new Map([['/web', 500 * S]]))
    expect(partitions.observe(2, 400 * S, 0, '/web')).toEqual({ tooLate: true, clamped: false })
    expect(partitions.watermark(2, 0)).toBe(500 * S)
  })

  it('caps a far-future event time at the wall clock plus the allowed skew, and says so', () => {
    const partitions = new PartitionClock({
      idleAfterMs: 5 * S,
      allowedLatenessMs: 60 * S,
      maxSkewMs: 30 * S,
    })
    const now = Date.parse('2026-12-06T12:00:00Z')
    expect(partitions.observe(0, now - S, now)).toEqual({ tooLate: false, clamped: false })
    expect(partitions.observe(0, now + 365 * 86_400 * S, now)).toEqual({ tooLate: false, clamped: true })
    expect(partitions.watermark(0, now)).toBe(now + 30 * S)
    // The event was kept: later events are judged against the capped clock, not next year's.
    expect(partitions.observe(0, now, now)).toEqual({ tooLate: false, clamped: false })
    // A restart from a stored far-future time is capped the same way.
    partitions.start(1, now + 86_400 * S, now)
    expect(partitions.maxEventTime(1)).toBe(now + 30 * S)
    partitions.takeOver(2, { maxEventTime: now + 86_400 * S, watermark: now + 86_400 * S }, now)
    expect(partitions.watermark(2, now)).toBe(now + 30 * S)
  })

  it("judges lateness per source: one source's backlog or pause never pushes another's events out", () => {
    const partitions = clock()
    const now = Date.parse('2026-12-06T12:00:00Z')
    partitions.observe(0, now, now, '/live')
    // A batch source sends yesterday's events after the live source is at now: on time for it.
    expect(partitions.observe(0, now - 86_400 * S, now, '/nightly')).toEqual({
      tooLate: false,
      clamped: false,
    })
    expect(partitions.observe(0, now - 86_400 * S + 30 * S, now, '/nightly').tooLate).toBe(false)
    // Within one source, the horizon still holds.
    expect(partitions.observe(0, now - 86_400 * S - 61 * S, now, '/nightly').tooLate).toBe(true)
    expect(partitions.observe(0, now - 61 * S, now, '/live').tooLate).toBe(true)
    // The partition's watermark is still its latest event time: the live source's.
    expect(partitions.watermark(0, now)).toBe(now)
    // A restart takes each source's latest stored time.
    partitions.start(
      1,
      now,
      now,
      new Map([
        ['/live', now],
        ['/nightly', now - 86_400 * S],
      ]),
    )
    expect(partitions.observe(1, now - 86_400 * S - 30 * S, now, '/nightly').tooLate).toBe(false)
    expect(partitions.observe(1, now - 86_400 * S - 30 * S, now, '/live').tooLate).toBe(true)
  })

  it('keeps at most 10,000 sources per partition; past that a new source is judged against the partition', () => {
    const partitions = clock()
    for (let source = 0; source < 10_000; source++) partitions.observe(0, 100 * S, 0, `/s${source}`)
    expect(partitions.observe(0, 100 * S - 61 * S, 0, '/one-too-many').tooLate).toBe(true)
    expect(partitions.observe(0, 100 * S - 61 * S, 0, '/s1').tooLate).toBe(true)
    expect(partitions.observe(0, 100 * S - 59 * S, 0, '/another').tooLate).toBe(false)
  })

  it('stays idle while only old events arrive (history being imported), so the watermark follows the wall clock', () => {
    const partitions = clock()
    const now = Date.parse('2026-12-06T12:00:00Z')
    partitions.observe(0, now, now, '/live')
    // Ten seconds of a day-old import, no live event: the partition is idle after 5 s all the same.
    for (let second = 1; second <= 10; second++)
      partitions.observe(0, now - 86_400 * S, now + second * S, '/import')
    expect(partitions.watermark(0, now + 10 * S)).toBe(now + 5 * S)
    // An event at the head counts as activity again.
    partitions.observe(0, now + 10 * S, now + 10 * S, '/live')
    expect(partitions.watermark(0, now + 12 * S)).toBe(now + 10 * S)
  })
})
