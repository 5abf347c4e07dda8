/**
 * Runs work one piece at a time, in the order asked: a group of batches and a sweep never
 * write the same outcome out of order. A failed piece does not stop the ones after it.
 */
export class SerialRunner {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(work: () => Promise<T>): Promise<T> {
    const run = this.tail.then(work, work)
    this.tail = run.catch(() => undefined)
    return run
  }

  /** Resolves once everything asked so far has finished (whatever its result). */
  idle(): Promise<unknown> {
    return this.tail
  }
}

/**
 * Group commit: items (batches of different partitions) that arrive while a group is being
 * written are written together by one call of `write` — for the processor, one insert of raw
 * events, one read of the touched interactions, one insert of outcomes — instead of a round
 * trip each. Every item's promise settles with its group: resolved once the group is durable,
 * rejected (and retried by its caller) if the group failed. Items handed in within one tick
 * join the same group.
 */
export class GroupCommit<Item> {
  private waiting: { item: Item; resolve: () => void; reject: (error: unknown) => void }[] = []
  private flushing = false

  private readonly write: (items: readonly Item[]) => Promise<void>
  private readonly runner: SerialRunner

  constructor(write: (items: readonly Item[]) => Promise<void>, runner: SerialRunner = new SerialRunner()) {
    this.write = write
    this.runner = runner
  }

  /** Resolves once the group this item joins is written. */
  add(item: Item): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject })
      // After the current tick: the items handed out together join one group.
      setImmediate(() => this.flush())
    })
  }

  private flush(): void {
    if (this.flushing || this.waiting.length === 0) return
    this.flushing = true
    const group = this.waiting
    this.waiting = []
    this.runner
      .run(() => this.write(group.map((entry) => entry.item)))
      .then(
        () => {
          for (const entry of group) entry.resolve()
        },
        (error: unknown) => {
          for (const entry of group) entry.reject(error)
        },
      )
      .finally(() => {
        this.flushing = false
        this.flush()
      })
  }
}
