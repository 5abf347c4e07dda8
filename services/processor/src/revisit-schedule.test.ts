import { describe, expect, it } from 'vitest'
import { RevisitSchedule } from './revisit-schedule.ts'

const at = (ms: number) => new Date(ms).toISOString()

describe('RevisitSchedule', () => {
  it('answers the subjects due by a watermark from the loaded schedule and the rows written since', () => {
    const schedule = new RevisitSchedule()
    schedule.load(
      0,
      new Map([
        ['a', 100],
        ['b', 300],
      ]),
      1,
    )
    expect(schedule.takeDue(0, 200)).toEqual(['a'])
    expect(schedule.takeDue(0, 200)).toEqual([])
    // a's recomputation: still waiting (until 250); c, new, waits until 150; d is final.
    schedule.record([
      { kafka_partition: 0, subject: 'a', revisit_at: at(250) },
      { kafka_partition: 0, subject: 'c', revisit_at: at(150) },
      { kafka_partition: 0, subject: 'd', revisit_at: null },
    ])
    expect(schedule.takeDue(0, 200)).toEqual(['c'])
    // b's recomputation made it final before it was due: a null row removes a scheduled subject.
    schedule.record([{ kafka_partition: 0, subject: 'b', revisit_at: null }])
    expect(schedule.takeDue(0, 300)).toEqual(['a'])
    expect(schedule.size(0)).toBe(0)
  })

  it('takes the earliest revisit over the CPIs written for a subject, a null row does not hide a later one', () => {
    const schedule = new RevisitSchedule()
    schedule.load(1, new Map(), 0)
    schedule.record([
      { kafka_partition: 1, subject: 's', revisit_at: at(500) },
      { kafka_partition: 1, subject: 's', revisit_at: null },
      { kafka_partition: 1, subject: 's', revisit_at: at(400) },
    ])
    expect(schedule.takeDue(1, 399)).toEqual([])
    expect(schedule.takeDue(1, 400)).toEqual(['s'])
  })

  it('ignores partitions it has not loaded, and forgets a partition given up', () => {
    const schedule = new RevisitSchedule()
    schedule.record([{ kafka_partition: 2, subject: 'x', revisit_at: at(1) }])
    expect(schedule.loaded(2)).toBe(false)
    expect(schedule.takeDue(2, 10)).toEqual([])
    schedule.load(2, new Map([['y', 5]]), 1000)
    expect(schedule.loaded(2, 999)).toBe(true)
    expect(schedule.loaded(2, 1001)).toBe(false)
    schedule.forget(2)
    expect(schedule.takeDue(2, 10)).toEqual([])
    expect(schedule.size(2)).toBe(0)
  })
})
