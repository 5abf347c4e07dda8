import { describe, expect, it } from 'vitest'
import { CoalescingRunner } from './coalescing-runner.ts'

/** A piece of work the test finishes by hand. */
function manualWork() {
  const started: number[] = []
  const finishers: ((error?: Error) => void)[] = []
  const work = (input: number) =>
    new Promise<void>((resolve, reject) => {
      started.push(input)
      finishers.push((error) => (error ? reject(error) : resolve()))
    })
  const finish = async (error?: Error) => {
    finishers.shift()?.(error)
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { started, work, finish }
}

describe('CoalescingRunner', () => {
  it('runs the first input at once and only the newest of those that came while it ran', async () => {
    const { started, work, finish } = manualWork()
    const runner = new CoalescingRunner(work)
    const first = runner.run(1)
    const second = runner.run(2)
    const third = runner.run(3)
    expect(started).toEqual([1])
    await finish()
    await first
    // 2 was replaced by 3 in the one pending slot; both callers wait for the run of 3.
    expect(started).toEqual([1, 3])
    let settled = false
    void Promise.all([second, third]).then(() => {
      settled = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(settled).toBe(false)
    await finish()
    await Promise.all([second, third])
    expect(started).toEqual([1, 3])
  })

  it('runs the pending input after a failed run, and idle waits for both', async () => {
    const { started, work, finish } = manualWork()
    const runner = new CoalescingRunner(work)
    const first = runner.run(1)
    const second = runner.run(2)
    let idle = false
    void runner.idle().then(() => {
      idle = true
    })
    await finish(new Error('store down'))
    await expect(first).rejects.toThrow('store down')
    expect(started).toEqual([1, 2])
    expect(idle).toBe(false)
    await finish()
    await second
    await runner.idle()
    expect(idle).toBe(true)
  })
})
