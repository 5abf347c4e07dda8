import { describe, expect, it } from 'vitest'
import { csvLines, csvRecords, formatOf, ndjsonLines } from './import-file.ts'

describe('historical import files', () => {
  it('reads NDJSON lines with their numbers, skipping blank ones and CRLF endings', () => {
    expect(ndjsonLines('{"a":1}\r\n\n  \n{"b":2}\n')).toEqual([
      { line: 1, text: '{"a":1}' },
      { line: 4, text: '{"b":2}' },
    ])
  })

  it('splits CSV as RFC 4180 says: quotes, doubled quotes, commas and line breaks inside fields', () => {
    const text = 'id,data.note\r\n1,"a, ""quoted""\nnote"\n2,plain\n'
    expect(csvRecords(text).map((record) => [record.line, record.fields])).toEqual([
      [1, ['id', 'data.note']],
      [2, ['1', 'a, "quoted"\nnote']],
      [4, ['2', 'plain']],
    ])
  })

  it('turns CSV rows into events: envelope columns, data columns typed by their suffix, empty cells left out', () => {
    const text = [
      'id,source,type,time,subject,data.customerId,data.items:number,data.fragile:boolean,data.promisedBy,data.carrier',
      'd1,/carrier/x,delivery.scheduled,2026-12-01T10:00:00Z,D-1,00123,2,true,2026-12-02T10:00:00Z,',
    ].join('\n')
    const { lines, rejected, headerErrors } = csvLines(text)
    expect([headerErrors, rejected]).toEqual([[], []])
    expect(lines).toHaveLength(1)
    expect(lines[0]?.line).toBe(2)
    expect(JSON.parse(lines[0]?.text ?? '')).toEqual({
      specversion: '1.0',
      id: 'd1',
      source: '/carrier/x',
      type: 'delivery.scheduled',
      time: '2026-12-01T10:00:00Z',
      subject: 'D-1',
      // Text unless typed: an id keeps its leading zeros.
      data: { customerId: '00123', items: 2, fragile: true, promisedBy: '2026-12-02T10:00:00Z' },
    })
  })

  it('rejects, with its line and reason, a row that does not fit the header or a cell not of its type', () => {
    const text =
      'id,source,data.items:number,data.tags:json\n1,/x\n2,/x,12345678901234567890,[]\n3,/x,"two",[]\n4,/x,1,[oops\n'
    const { lines, rejected } = csvLines(text)
    expect(lines).toEqual([])
    expect(rejected).toEqual([
      {
        line: 2,
        reason: 'malformed_csv',
        errors: [{ path: '', message: 'expected 4 cells as the header has, got 2' }],
        raw: '1,/x',
      },
      {
        line: 3,
        reason: 'malformed_csv',
        errors: [
          {
            path: 'data.items',
            message: 'expected a number (whole numbers within ±2^53), got "12345678901234567890"',
          },
        ],
        raw: '2,/x,12345678901234567890,[]',
      },
      {
        line: 4,
        reason: 'malformed_csv',
        errors: [
          { path: 'data.items', message: 'expected a number (whole numbers within ±2^53), got "two"' },
        ],
        raw: '3,/x,"two",[]',
      },
      {
        line: 5,
        reason: 'malformed_csv',
        errors: [{ path: 'data.tags', message: 'expected JSON, got "[oops"' }],
        raw: '4,/x,1,[oops',
      },
    ])
  })

  it('names unknown columns and types, and a quote never closed', () => {
    expect(csvLines('id,source,colour,data.n:float\n').headerErrors).toEqual([
      'column "colour": expected an envelope attribute (specversion, id, source, type, time, subject, experiment, variant) or data.<field>[:type]',
      'column "data.n:float": expected a type of string, number, boolean, json, got "float"',
    ])
    expect(() => csvRecords('id,data.note\n1,"open\n2,x\n')).toThrow('line 2: a quoted field is never closed')
  })

  it('takes the format from the option or the file name', () => {
    expect(formatOf('history.csv')).toBe('csv')
    expect(formatOf('history.ndjson')).toBe('ndjson')
    expect(formatOf('x.txt', 'csv')).toBe('csv')
    expect(() => formatOf('x', 'xml')).toThrow('--format: expected ndjson or csv, got "xml"')
  })
})
