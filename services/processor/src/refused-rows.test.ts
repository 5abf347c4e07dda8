import { describe, expect, it } from 'vitest'
import { writeIsolatingRefusals } from './refused-rows.ts'

const refused = (what: string) => Object.assign(new Error(`refused ${what}`), { refusedContent: true })

/** A store that refuses every write holding a row marked poison, as the engine refuses a whole insert. */
function store() {
  const written: string[] = []
  let writes = 0
  return {
    written,
    writes: () => writes,
    write: async (rows: readonly string[]) => {
      writes++
      const poison = rows.find((row) => row.startsWith('poison'))
      if (poison) throw refused(poison)
      written.push(...rows)
    },
  }
}

describe('writeIsolatingRefusals', () => {
  it('writes everything in one go when nothing is refused', async () => {
    const target = store()
    expect(await writeIsolatingRefusals(['a', 'b', 'c'], target.write)).toEqual([])
    expect(target.written).toEqual(['a', 'b', 'c'])
    expect(target.writes()).toBe(1)
  })

  it('returns the refused rows with their reasons and writes every other row, in order', async () => {
    const target = store()
    const rows = Array.from({ length: 64 }, (_, index) =>
      index === 5 || index === 40 ? `poison-${index}` : `r${index}`,
    )
    const refusals = await writeIsolatingRefusals(rows, target.write)
    expect(refusals.map((refusal) => [refusal.row, refusal.error.message])).toEqual([
      ['poison-5', 'refused poison-5'],
      ['poison-40', 'refused poison-40'],
    ])
    expect(target.written).toEqual(rows.filter((row) => !row.startsWith('poison')))
    // Halving: a few writes per poison row, not one per row.
    expect(target.writes()).toBeLessThanOrEqual(1 + 2 * 2 * Math.log2(64))
  })

  it('returns a lone refused row rather than throwing (a batch of one poison row moves on too)', async () => {
    const target = store()
    expect((await writeIsolatingRefusals(['poison'], target.write)).map((refusal) => refusal.row)).toEqual([
      'poison',
    ])
  })

  it('throws any other failure as it came, for the caller to retry the whole batch', async () => {
    const down = Object.assign(new Error('connection refused'), { refusedContent: false })
    await expect(
      writeIsolatingRefusals(['a'], async () => {
        throw down
      }),
    ).rejects.toBe(down)
  })

  it("calls it the table's fault, not the rows', when 64 rows are refused alone and none taken", async () => {
    const schemaDrift = async () => {
      throw refused('every row: no such column')
    }
    const rows = Array.from({ length: 200 }, (_, index) => `r${index}`)
    await expect(writeIsolatingRefusals(rows, schemaDrift)).rejects.toMatchObject({
      name: 'SystemicRefusalError',
      refusedContent: false,
      message: expect.stringContaining('refused 64 rows one by one and took none'),
    })
    // Sixty-three poison rows beside one good one are still sixty-three dead letters.
    const target = store()
    const mostlyPoison = [...Array.from({ length: 63 }, (_, index) => `poison-${index}`), 'good']
    expect(await writeIsolatingRefusals(mostlyPoison, target.write)).toHaveLength(63)
    expect(target.written).toEqual(['good'])
  })
})
