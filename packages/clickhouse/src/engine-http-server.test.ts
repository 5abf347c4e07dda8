import { describe, expect, it } from 'vitest'
import {
  engineCall,
  engineErrorText,
  engineRequest,
  parseArrayLiteral,
  unescapeText,
} from './engine-http-server.ts'

const url = (query: Record<string, string>) => new URL(`http://engine/?${new URLSearchParams(query)}`)

describe('the engine HTTP server', () => {
  it('reads query parameters, settings and the query id of a request, leaving HTTP-only ones out', () => {
    const request = engineRequest(
      url({
        query: 'SELECT {ids:Array(String)}, {name:String}, {n:UInt8}',
        param_ids: "['a','it\\'s']",
        param_name: "o\\'brien\\ttab",
        param_n: '7',
        query_id: 'q-1',
        session_id: 's',
        compress: '1',
        max_threads: '2',
      }),
      '',
    )
    expect(request).toEqual({
      fromUrl: 'SELECT {ids:Array(String)}, {name:String}, {n:UInt8}',
      text: '',
      queryId: 'q-1',
      common: {
        query_id: 'q-1',
        query_params: { ids: ['a', "it's"], name: "o'brien\ttab", n: '7' },
        clickhouse_settings: { max_threads: '2' },
      },
    })
  })

  it('finds array parameters in the body SQL too, and names a query without an id', () => {
    const request = engineRequest(url({ param_xs: '[1, 2.5]' }), 'SELECT {xs: Array(Float64)}')
    expect(request.fromUrl).toBeNull()
    expect(request.common).toEqual({ query_id: request.queryId, query_params: { xs: [1, 2.5] } })
    expect(request.queryId).toMatch(/^[0-9a-f-]{36}$/)
    expect(engineRequest(url({}), 'SELECT 1').common).toEqual({ query_id: expect.any(String) })
  })

  it('sends inserts to the writer and everything else to a reader', () => {
    const common = { query_id: 'q' }
    const call = (fromUrl: string | null, text: string) => engineCall({ fromUrl, text, queryId: 'q', common })
    expect(call('INSERT INTO t FORMAT TSV', '1\t2\n')).toEqual({
      on: 'writer',
      method: 'insert',
      args: { query: 'INSERT INTO t FORMAT TSV', values: '1\t2\n', query_id: 'q' },
    })
    expect(call('SELECT * FROM input()', 'x')).toEqual({
      on: 'reader',
      method: 'exec',
      args: { query: 'SELECT * FROM input()', values: 'x', query_id: 'q' },
    })
    expect(call(null, ' insert INTO t VALUES (1)')).toEqual({
      on: 'writer',
      method: 'exec',
      args: { query: ' insert INTO t VALUES (1)', query_id: 'q' },
    })
    expect(call(null, 'SELECT 1')).toEqual({
      on: 'reader',
      method: 'query',
      args: { query: 'SELECT 1', query_id: 'q' },
    })
    expect(call('SELECT 1', '')).toEqual({
      on: 'reader',
      method: 'query',
      args: { query: 'SELECT 1', query_id: 'q' },
    })
  })

  it("writes the engine's errors the way a server does", () => {
    expect(
      engineErrorText(Object.assign(new Error('Unknown table'), { code: '60', type: 'UNKNOWN_TABLE' })),
    ).toEqual({ code: '60', text: 'Code: 60. DB::Exception: Unknown table (UNKNOWN_TABLE)' })
    expect(engineErrorText(Object.assign(new Error('boom'), { code: 'ECONNRESET' }))).toEqual({
      code: '1001',
      text: 'Code: 1001. DB::Exception: boom (STD_EXCEPTION)',
    })
  })

  it('reads array literals and escaped text as ClickHouse writes them', () => {
    expect(parseArrayLiteral('[]')).toEqual([])
    expect(parseArrayLiteral("[ 'a\\nb' , 3 ]")).toEqual(['a\nb', 3])
    expect(parseArrayLiteral('[1, x]')).toBeUndefined()
    expect(parseArrayLiteral('1, 2')).toBeUndefined()
    expect(unescapeText('a\\\\b\\0\\q')).toBe('a\\b\0q')
  })
})
