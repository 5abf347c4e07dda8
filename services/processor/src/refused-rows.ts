/** What the store said of the rows it would not take, each with the reason it gave. */
export interface Refusal<Row> {
  row: Row
  error: Error & { refusedContent: boolean }
}

const refusesContent = (error: unknown): error is Error & { refusedContent: boolean } =>
  error instanceof Error && (error as { refusedContent?: unknown }).refusedContent === true

/**
 * So many rows refused and none taken that the rows are not the problem: the table and the code
 * disagree (a migration not applied, a column's type changed). Thrown so that the batch fails and
 * is retried — its partition stalls and pages — instead of every event becoming a dead letter.
 */
export class SystemicRefusalError extends Error {
  readonly retriable = false
  readonly refusedContent = false

  constructor(refused: number, cause: Error) {
    super(`the store refused ${refused} rows one by one and took none: ${cause.message}`, { cause })
    this.name = 'SystemicRefusalError'
  }
}

/** Refused rows, none written, past which a refusal is the table's, not the rows'. */
const SYSTEMIC_AFTER = 64

/**
 * Writes rows and, when the store refuses the write for some row's content, finds that row by
 * halving the write until the refused rows stand alone: those are returned, every other row is
 * written. One poison row costs about 2·log2(n) extra writes instead of a partition stalled
 * forever behind it. Any other failure (the store is down, a table missing) is thrown as it
 * came, so the caller retries the whole batch; rows already written are idempotent. So is a
 * refusal of every row once 64 have been refused alone and none taken (SystemicRefusalError).
 */
export async function writeIsolatingRefusals<Row>(
  rows: readonly Row[],
  write: (rows: readonly Row[]) => Promise<void>,
): Promise<Refusal<Row>[]> {
  const tally = { written: 0, refused: [] as Refusal<Row>[] }
  await isolate(rows, write, tally)
  return tally.refused
}

async function isolate<Row>(
  rows: readonly Row[],
  write: (rows: readonly Row[]) => Promise<void>,
  tally: { written: number; refused: Refusal<Row>[] },
): Promise<void> {
  if (rows.length === 0) return
  try {
    await write(rows)
    tally.written += rows.length
  } catch (error) {
    if (!refusesContent(error)) throw error
    if (rows.length === 1) {
      tally.refused.push({ row: rows[0] as Row, error })
      if (tally.written === 0 && tally.refused.length >= SYSTEMIC_AFTER)
        throw new SystemicRefusalError(tally.refused.length, error)
      return
    }
    const middle = Math.ceil(rows.length / 2)
    await isolate(rows.slice(0, middle), write, tally)
    await isolate(rows.slice(middle), write, tally)
  }
}
