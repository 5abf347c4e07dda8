import { describe, expect, it } from 'vitest'
import { ClickHouseAdapterError } from './errors.ts'
import { parseMigration, splitStatements } from './migrations.ts'

describe('splitStatements', () => {
  it('splits on a semicolon at the end of a line and drops comment lines', () => {
    const sql = `-- a comment; with a semicolon;\nCREATE TABLE a (x UInt8) ENGINE = Memory;\n\n  SELECT 'a;b' ;\nSELECT 2`
    expect(splitStatements(sql)).toEqual([
      'CREATE TABLE a (x UInt8) ENGINE = Memory',
      "SELECT 'a;b'",
      'SELECT 2',
    ])
  })

  it('returns nothing for a file of comments', () => {
    expect(splitStatements('-- only\n-- comments\n')).toEqual([])
  })
})

describe('parseMigration', () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal placeholder migration files use
  const text = 'CREATE TABLE IF NOT EXISTS ${database}.t (x UInt8) ENGINE = Memory;\n'

  it('reads the version and name from the file name and fills in the database', () => {
    const migration = parseMigration('0007_create_t.sql', text, 'cpi_test')
    expect(migration).toMatchObject({
      version: 7,
      name: 'create_t',
      statements: ['CREATE TABLE IF NOT EXISTS cpi_test.t (x UInt8) ENGINE = Memory'],
    })
  })

  it('gives the same checksum whatever the database, and another one when the text changes', () => {
    const a = parseMigration('0001_t.sql', text, 'one')
    const b = parseMigration('0001_t.sql', text, 'two')
    const c = parseMigration('0001_t.sql', `${text}-- edited\n`, 'one')
    expect(a.checksum).toBe(b.checksum)
    expect(a.checksum).not.toBe(c.checksum)
  })

  it('refuses a badly named file and a database that is not an identifier', () => {
    expect(() => parseMigration('create.sql', text, 'cpi')).toThrow(ClickHouseAdapterError)
    expect(() => parseMigration('0001_t.sql', text, 'cpi.x')).toThrow(/not an identifier/)
  })
})
