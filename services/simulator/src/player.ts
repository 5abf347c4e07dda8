import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '@cpi/logger'
import { type SimulatedEvent, simulate } from './generate.ts'
import type { Scenario } from './scenario.ts'
import type { EventSink } from './sinks.ts'

const MINUTE = 60_000

/** A min-heap of events by arrival time: follow-ups wait here until their moment comes. */
class ArrivalQueue {
  private readonly heap: SimulatedEvent[] = []

  get size(): number {
    return this.heap.length
  }

  push(event: SimulatedEvent): void {
    const heap = this.heap
    heap.push(event)
    let index = heap.length - 1
    while (index > 0) {
      const parent = (index - 1) >> 1
      if ((heap[parent] as SimulatedEvent).arrival <= event.arrival) break
      heap[index] = heap[parent] as SimulatedEvent
      index = parent
    }
    heap[index] = event
  }

  /** Removes and returns every event due by `time`, in arrival order. */
  takeDue(time: number, limit: number): SimulatedEvent[] {
    const due: SimulatedEvent[] = []
    while (due.length < limit && this.heap.length > 0 && (this.heap[0] as SimulatedEvent).arrival <= time) {
      due.push(this.pop())
    }
    return due
  }

  private pop(): SimulatedEvent {
    const heap = this.heap
    const top = heap[0] as SimulatedEvent
    const last = heap.pop() as SimulatedEvent
    if (heap.length > 0) {
      let index = 0
      for (;;) {
        const left = 2 * index + 1
        const right = left + 1
        let smallest = index
        const candidate = (position: number) =>
          position === index ? last : (heap[position] as SimulatedEvent)
        if (left < heap.length && candidate(left).arrival < candidate(smallest).arrival) smallest = left
        if (right < heap.length && candidate(right).arrival < candidate(smallest).arrival) smallest = right
        if (smallest === index) break
        heap[index] = heap[smallest] as SimulatedEvent
        index = smallest
      }
      heap[index] = last
    }
    return top
  }
}

export interface PlayerOptions {
  scenario: Scenario
  sink: EventSink
  logger: Logger
  /** Interactions start from here (a past time backfills as fast as the sink takes it). */
  from: number
  /** Events that arrived at or before this were sent by an earlier run: skipped. */
  alreadySentUntil?: number
  batchSize?: number
  clock?: () => number
  /** Called after each batch with the arrival time sent up to: persist it to resume. */
  onProgress?: (sentUntil: number) => void | Promise<void>
}

/**
 * Plays a scenario in real time: interactions start as the clock passes, each event is sent
 * when its arrival time comes (follow-ups days later, late ones late). Starting in the past
 * backfills first. Generation is deterministic per minute, so a restart with the saved
 * progress resumes without resending.
 */
export function startPlayer(options: PlayerOptions) {
  const clock = options.clock ?? Date.now
  const batchSize = options.batchSize ?? 2000
  const queue = new ArrivalQueue()
  let generatedUntil = Math.floor(options.from / MINUTE) * MINUTE
  let sent = 0
  let stopping = false

  const loop = (async () => {
    while (!stopping) {
      const now = clock()
      // Draw interactions a minute ahead, so those starting now have their events queued.
      while (generatedUntil <= now + MINUTE && !stopping) {
        const chunk = simulate(options.scenario, { from: generatedUntil, to: generatedUntil + MINUTE })
        for (const event of chunk.events) {
          if (options.alreadySentUntil === undefined || event.arrival > options.alreadySentUntil)
            queue.push(event)
        }
        generatedUntil += MINUTE
        if (queue.size > 20 * batchSize) break // send some before drawing more (backfill)
      }
      // Only what lies before the generation frontier: an interaction not drawn yet starts after
      // it, so nothing earlier can still come. Sending past it would reorder a backfill by hours.
      const due = queue.takeDue(Math.min(clock(), generatedUntil - 1), batchSize)
      if (due.length === 0) {
        await sleep(200)
        continue
      }
      try {
        await options.sink.send(due)
        sent += due.length
        await options.onProgress?.((due.at(-1) as SimulatedEvent).arrival)
      } catch (error) {
        for (const event of due) queue.push(event)
        options.logger.warn({ err: error, sink: options.sink.name }, 'simulator could not send; retrying')
        await sleep(1000)
      }
    }
  })()

  return {
    stats: () => ({ sent, queued: queue.size, generatedUntil: new Date(generatedUntil).toISOString() }),
    async stop() {
      stopping = true
      await loop
    },
  }
}

/** Sends a whole simulated history in arrival order, as fast as the sink takes it. */
export async function sendAll(
  events: readonly SimulatedEvent[],
  sink: EventSink,
  batchSize = 2000,
): Promise<void> {
  for (let start = 0; start < events.length; start += batchSize) {
    await sink.send(events.slice(start, start + batchSize))
  }
}
