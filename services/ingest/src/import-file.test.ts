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

  it('turns CSV rows into events: envelope columns, typed data columns, empty cells left out', () => {
    const text = [
      'id,source,type,time,subject,data.customerId,data.items,data.fragile,data.promisedBy,data.carrier',
      'd1,/carrier/x,delivery.scheduled,2026-12-01T10:00:00Z,D-1,c-7,2,true,2026-12-02T10:00:00Z,',
    ].join('\n')
    const { lines, headerErrors } = csvLines(text)
    expect(headerErrors).toEqual([])
    expect(lines).toHaveLength(1)
    expect(lines[0]?.line).toBe(2)
    expect(JSON.parse(lines[0]?.text ?? '')).toEqual({
      specversion: '1.0',
      id: 'd1',
      source: '/carrier/x',
      type: 'delivery.scheduled',
      time: '2026-12-01T10:00:00Z',
      subject: 'D-1',
      data: { customerId: 'c-7', items: 2, fragile: true, promisedBy: '2026-12-02T10:00:00Z' },
    })
  })

  it('passes a row that does not fit the header on as its raw text (the gateway rejects and keeps it), and names unknown columns', () => {
    const { lines, headerErrors } = csvLines('id,source,colour\n1,/x\n')
    expect(lines).toEqual([{ line: 2, text: '1,/x' }])
    expect(headerErrors).toEqual([
      'column "colour": expected an envelope attribute (specversion, id, source, type, time, subject, experiment, variant) or data.<field>',
    ])
  })

  it('takes the format from the option or the file name', () => {
    expect(formatOf('history.csv')).toBe('csv')
    expect(formatOf('history.ndjson')).toBe('ndjson')
    expect(formatOf('x.txt', 'csv')).toBe('csv')
    expect(() => formatOf('x', 'xml')).toThrow('--format: expected ndjson or csv, got "xml"')
  })
})
