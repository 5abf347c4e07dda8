// One operation at a time per embedded connection, queued here rather than in the engine.
//
// The embedded engine runs each connection's operations one after another, but it takes every
// operation handed to it into Node's worker pool (libuv, 4 threads by default) at once, where
// those waiting for their connection hold a thread while they wait. Eight reads queued on the
// query path so took every worker, and an insert of six rows on another connection waited
// ~1 s for one instead of ~3 ms (docs/decisions/0022). Queued here, a connection holds at most
// one worker, so connections never wait for each other's queues.

const QUEUED = new Set<PropertyKey>(['query', 'exec', 'command', 'insert', 'ping'])

type Operation = (...args: unknown[]) => Promise<unknown>

/**
 * The same connection (chdb's, for @clickhouse/client) with its operations — queries, commands,
 * inserts, pings and the raw inserts of its `chdb` extension — run one at a time in the order
 * they were called: each starts when the one before has settled, whatever its outcome. The rest
 * (`close` included) is the connection's own.
 */
export function oneAtATime<Connection extends object>(connection: Connection): Connection {
  let tail: Promise<unknown> = Promise.resolve()
  const queued =
    (operation: Operation): Operation =>
    (...args) => {
      const run = tail.then(() => operation(...args))
      tail = run.then(
        () => undefined,
        () => undefined,
      )
      return run
    }
  const extension = (chdb: object): object =>
    new Proxy(chdb, {
      get(target, property) {
        const member = Reflect.get(target, property, target) as unknown
        if (typeof member !== 'function') return member
        const bound = (member as Operation).bind(target)
        return property === 'rawInsert' ? queued(bound) : bound
      },
    })
  return new Proxy(connection, {
    get(target, property) {
      const member = Reflect.get(target, property, target) as unknown
      if (property === 'chdb' && typeof member === 'object' && member !== null) return extension(member)
      if (typeof member !== 'function') return member
      const bound = (member as Operation).bind(target)
      return QUEUED.has(property) ? queued(bound) : bound
    },
  })
}
