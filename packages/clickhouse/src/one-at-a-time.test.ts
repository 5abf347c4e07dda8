import { describe, expect, it } from 'vitest'
import { oneAtATime } from './one-at-a-time.ts'

/** A connection whose operations settle when the test says, recording when each starts. */
function fakeConnection() {
  const started: string[] = []
  const pending = new Map<string, { resolve: (value: string) => void; reject: (error: Error) => void }>()
  const operation = (kind: string) => (params: { name: string }) => {
    started.push(`${kind} ${params.name}`)
    return new Promise<string>((resolve, reject) => pending.set(params.name, { resolve, reject }))
  }
  const connection = {
    query: operation('query'),
    exec: operation('exec'),
    command: operation('command'),
    insert: operation('insert'),
    ping: operation('ping'),
    close: async () => 'closed',
    connectionName: 'chdb',
    chdb: { rawInsert: operation('rawInsert'), queryAsync: operation('queryAsync') },
  }
  const settle = async (name: string, error?: Error) => {
    const entry = pending.get(name)
    if (!entry) throw new Error(`${name} has not started`)
    if (error) entry.reject(error)
    else entry.resolve(`${name} done`)
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
  return { connection, started, settle }
}

describe('oneAtATime', () => {
  it('starts each operation when the one before has settled, in the order they were called', async () => {
    const { connection, started, settle } = fakeConnection()
    const queued = oneAtATime(connection)
    const results = [
      queued.query({ name: 'a' }),
      queued.chdb.rawInsert({ name: 'b' }),
      queued.insert({ name: 'c' }),
      queued.command({ name: 'd' }),
    ]
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect(started).toEqual(['query a'])
    await settle('a')
    expect(started).toEqual(['query a', 'rawInsert b'])
    // A failure is its caller's; the next operation starts all the same.
    await settle('b', new Error('refused'))
    expect(started).toEqual(['query a', 'rawInsert b', 'insert c'])
    await settle('c')
    await settle('d')
    expect(await Promise.allSettled(results)).toEqual([
      { status: 'fulfilled', value: 'a done' },
      { status: 'rejected', reason: new Error('refused') },
      { status: 'fulfilled', value: 'c done' },
      { status: 'fulfilled', value: 'd done' },
    ])
  })

  it('leaves close, the rest of the extension and plain members as they are', async () => {
    const { connection, started, settle } = fakeConnection()
    const queued = oneAtATime(connection)
    const running = queued.exec({ name: 'long' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    // Not queued behind the running operation.
    expect(await queued.close()).toBe('closed')
    void queued.chdb.queryAsync({ name: 'side' })
    expect(started).toEqual(['exec long', 'queryAsync side'])
    expect(queued.connectionName).toBe('chdb')
    await settle('long')
    expect(await running).toBe('long done')
  })

  it('queues each connection on its own', async () => {
    const first = fakeConnection()
    const second = fakeConnection()
    void oneAtATime(first.connection).query({ name: 'a' })
    void oneAtATime(second.connection).ping({ name: 'b' })
    await new Promise((resolve) => setTimeout(resolve, 0))
    expect([...first.started, ...second.started]).toEqual(['query a', 'ping b'])
  })
})
