import { describe, expect, it } from 'vitest'
import { GroupCommit, SerialRunner } from './group-commit.ts'

const tick = () => new Promise((resolve) => setImmediate(resolve))

describe('SerialRunner', () => {
  it('runs one piece at a time, in order, and goes on after a failure', async () => {
    const runner = new SerialRunner()
    const log: string[] = []
    let release: () => void = () => undefined
    const first = runner.run(async () => {
      log.push('first start')
      await new Promise<void>((resolve) => {
        release = resolve
      })
      log.push('first end')
      throw new Error('first failed')
    })
    const second = runner.run(async () => {
      log.push('second')
      return 2
    })
    await tick()
    expect(log).toEqual(['first start'])
    release()
    await expect(first).rejects.toThrow('first failed')
    expect(await second).toBe(2)
    expect(log).toEqual(['first start', 'first end', 'second'])
  })
})

describe('GroupCommit', () => {
  it('writes the items handed in within one tick as one group, and the next ones after it', async () => {
    const groups: number[][] = []
    let release: () => void = () => undefined
    const commit = new GroupCommit<number>(async (items) => {
      groups.push([...items])
      if (groups.length === 1)
        await new Promise<void>((resolve) => {
          release = resolve
        })
    })
    const a = commit.add(1)
    const b = commit.add(2)
    await tick()
    // While the first group is being written, later items wait and then go together.
    const c = commit.add(3)
    const d = commit.add(4)
    await tick()
    expect(groups).toEqual([[1, 2]])
    release()
    await Promise.all([a, b, c, d])
    expect(groups).toEqual([
      [1, 2],
      [3, 4],
    ])
  })

  it('fails every item of a failed group, and writes later items anyway', async () => {
    let calls = 0
    const commit = new GroupCommit<string>(async () => {
      calls++
      if (calls === 1) throw new Error('store down')
    })
    const failed = [commit.add('a'), commit.add('b')]
    for (const item of failed) await expect(item).rejects.toThrow('store down')
    await expect(commit.add('c')).resolves.toBeUndefined()
    expect(calls).toBe(2)
  })
})
