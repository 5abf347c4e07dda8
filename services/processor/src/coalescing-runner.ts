/**
 * Runs `work` one input at a time without queueing up: while a run is in flight, the newest
 * input waits in one pending slot (a later one replaces it) and every caller that asked
 * meanwhile resolves once that pending run ends. The processor's sweep upkeep uses it: sweeps
 * start on a timer and an upkeep may outlast the interval, yet upkeeps never pile up, and
 * watermarks are never written older than those a later sweep saw.
 */
export class CoalescingRunner<Input> {
  private running: Promise<void> | undefined
  private pending: { input: Input; done: Promise<void> } | undefined

  private readonly work: (input: Input) => Promise<void>

  constructor(work: (input: Input) => Promise<void>) {
    this.work = work
  }

  run(input: Input): Promise<void> {
    if (this.running === undefined) {
      this.running = this.work(input).finally(() => {
        this.running = undefined
      })
      return this.running
    }
    if (this.pending) {
      this.pending = { input, done: this.pending.done }
      return this.pending.done
    }
    const done = this.running
      .catch(() => undefined)
      .then(() => {
        const next = this.pending?.input ?? input
        this.pending = undefined
        return this.run(next)
      })
    this.pending = { input, done }
    return done
  }

  /** Resolves once no run is in flight or pending (whatever their results). */
  async idle(): Promise<void> {
    while (this.running || this.pending) await (this.pending?.done ?? this.running)?.catch(() => undefined)
  }
}
