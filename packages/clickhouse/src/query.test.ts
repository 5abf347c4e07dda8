import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import type { ClickHouse } from './client.ts'
import { ClickHouseAdapterError } from './errors.ts'
import {
  defineCommand,
  defineQuery,
  defineTabSeparatedInsert,
  observeStatements,
  type StatementRun,
} from './query.ts'

// The declared statements against a fake client: what each sends, what a failure says, and what
// the observers are told. Against the real engine: test/clickhouse-adapter.int.test.ts.

function fakeClickHouse(options: { fail?: boolean; failWith?: Error } = {}) {
  const sent: { on: string; args: Record<string, unknown> }[] = []
  const operation = (on: string) => async (args: Record<string, unknown>) => {
    sent.push({ on, args })
    if (options.fail) throw new Error('engine away')
    return { json: async () => [{ n: '1' }] }
  }
  const client = (on: string) => ({ query: operation(on), command: operation(on), insert: operation(on) })
  const clickhouse = {
    database: 'db',
    reader: client('reader'),
    writer: client('writer'),
    background: client('background'),
    async insertTabSeparated(table: string, columns: readonly string[], text: string) {
      sent.push({ on: 'tsv', args: { table, columns, text } })
      if (options.failWith) throw options.failWith
      if (options.fail) throw new Error('engine away')
    },
  } as unknown as ClickHouse
  return { clickhouse, sent }
}

function observed(): { runs: StatementRun[]; stop: () => void } {
  const runs: StatementRun[] = []
  const stop = observeStatements((run) => runs.push(run))
  return { runs, stop: () => void stop() }
}

describe('declared statements', () => {
  it('names a failure by `what` where it says more than the name; observers see the name', async () => {
    const { runs, stop } = observed()
    try {
      const count = defineQuery({
        name: 'counting things of a kind',
        params: z.object({ kind: z.string() }),
        sql: (database) => `SELECT count() AS n FROM ${database}.things WHERE kind = {kind:String}`,
        row: (row) => Number(row.n),
        what: ({ kind }) => `counting things of kind ${kind}`,
      })
      expect(await count(fakeClickHouse().clickhouse, { kind: 'a' })).toEqual([1])
      const failure = await count(fakeClickHouse({ fail: true }).clickhouse, { kind: 'b' }).catch(
        (error: unknown) => error,
      )
      expect(failure).toBeInstanceOf(ClickHouseAdapterError)
      expect((failure as Error).message).toBe('counting things of kind b: engine away')
      expect(runs.map((run) => [run.name, run.rows, run.error?.message])).toEqual([
        ['counting things of a kind', 1, undefined],
        ['counting things of a kind', 0, 'counting things of kind b: engine away'],
      ])
    } finally {
      stop()
    }
  })

  it('runs a command with its settings and only the bound parameters', async () => {
    const { clickhouse, sent } = fakeClickHouse()
    const update = defineCommand({
      name: 'updating things',
      params: z.object({ ids: z.array(z.string()), wait: z.boolean() }),
      sql: (database) => `ALTER TABLE ${database}.things UPDATE x = 1 WHERE id IN {ids:Array(String)}`,
      bind: ({ ids }) => ({ ids }),
      settings: ({ wait }) => ({ mutations_sync: wait ? '2' : '1' }),
    })
    await update(clickhouse, { ids: ['a'], wait: true })
    expect(sent).toEqual([
      {
        on: 'writer',
        args: {
          query: 'ALTER TABLE db.things UPDATE x = 1 WHERE id IN {ids:Array(String)}',
          query_params: { ids: ['a'] },
          clickhouse_settings: { mutations_sync: '2' },
        },
      },
    ])
  })

  it('inserts TabSeparated rows through the write path, observed; no rows, no insert', async () => {
    const { runs, stop } = observed()
    try {
      const insert = defineTabSeparatedInsert({
        name: 'inserting things',
        table: 'things',
        columns: [
          ['id', (row: { id: string; n: number }) => row.id],
          ['n', (row: { id: string; n: number }) => String(row.n)],
        ],
        what: (rows) => `inserting ${rows.length} things`,
      })
      const { clickhouse, sent } = fakeClickHouse()
      await insert(clickhouse, [])
      await insert(clickhouse, [
        { id: 'a', n: 1 },
        { id: 'b', n: 2 },
      ])
      expect(sent).toEqual([
        { on: 'tsv', args: { table: 'db.things', columns: ['id', 'n'], text: 'a\t1\nb\t2\n' } },
      ])
      await expect(insert(fakeClickHouse({ fail: true }).clickhouse, [{ id: 'c', n: 3 }])).rejects.toThrow(
        /^inserting 1 things: engine away$/,
      )
      expect(runs.map((run) => [run.name, run.kind, run.connection, run.rows])).toEqual([
        ['inserting things', 'insert', 'writer', 2],
        ['inserting things', 'insert', 'writer', 0],
      ])
    } finally {
      stop()
    }
  })

  it("keeps the engine's word on a refused row: a content error stays refusedContent, an outage stays retriable", async () => {
    const insert = defineTabSeparatedInsert<{ id: string }>({
      name: 'inserting rows into t',
      table: 't',
      columns: [['id', (row) => row.id]],
    })
    const { ClickHouseError } = await import('@clickhouse/client')
    const refused = new ClickHouseError({
      message: 'Cannot parse input',
      code: '27',
      type: 'CANNOT_PARSE_INPUT_ASSERTION_FAILED',
    })
    const content = await insert(fakeClickHouse({ failWith: refused }).clickhouse, [{ id: 'a' }]).catch(
      (error) => error,
    )
    expect(content).toBeInstanceOf(ClickHouseAdapterError)
    expect(content).toMatchObject({ refusedContent: true, retriable: false, code: '27' })
    const outage = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })
    const away = await insert(fakeClickHouse({ failWith: outage }).clickhouse, [{ id: 'a' }]).catch(
      (error) => error,
    )
    expect(away).toMatchObject({ refusedContent: false, retriable: true })
  })
})
