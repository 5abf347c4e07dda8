/** What the store said of the rows it would not take, each with the reason it gave. */
export interface Refusal<Row> {
  row: Row
  error: Error & { refusedContent: boolean }
}

const refusesContent = (error: unknown): error is Error & { refusedContent: boolean } =>
  error instanceof Error && (error as { refusedContent?: unknown }).refusedContent === true

/**
 * Writes rows and, when the store refuses the write for some row's content, finds that row by
 * halving the write until the refused rows stand alone: those are returned, every other row is
 * written. One poison row costs about 2·log2(n) extra writes instead of a partition stalled
 * forever behind it. Any other failure (the store is down, a table missing) is thrown as it
 * came, so the caller retries the whole batch; rows already written are idempotent.
 */
export async function writeIsolatingRefusals<Row>(
  rows: readonly Row[],
  write: (rows: readonly Row[]) => Promise<void>,
): Promise<Refusal<Row>[]> {
  if (rows.length === 0) return []
  try {
    await write(rows)
    return []
  } catch (error) {
    if (!refusesContent(error)) throw error
    if (rows.length === 1) return [{ row: rows[0] as Row, error }]
    const middle = Math.ceil(rows.length / 2)
    const first = await writeIsolatingRefusals(rows.slice(0, middle), write)
    const second = await writeIsolatingRefusals(rows.slice(middle), write)
    return [...first, ...second]
  }
}
