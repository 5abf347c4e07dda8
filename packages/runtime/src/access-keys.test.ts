import { createHash } from 'node:crypto'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { createLogger } from '@cpi/logger'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createAccessKeys,
  environmentKeyEntries,
  type KeySource,
  KeysFileError,
  keyEntry,
  oneAtATime,
  parseKeysFile,
  startKeySource,
} from './access-keys.ts'
import { keyFingerprint } from './keyring.ts'

const OPS = 'ops-key-2026-11-0123456789'
const CI = 'ci-ingest-key-0123456789'
const hex = (key: string) => createHash('sha256').update(key).digest('hex')

function capture() {
  const lines: Record<string, unknown>[] = []
  const text: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, done) {
      text.push(String(chunk))
      lines.push(JSON.parse(String(chunk)))
      done()
    },
  })
  return { lines, text, logger: createLogger({ service: 't', level: 'debug', destination }) }
}

describe('createAccessKeys', () => {
  const keys = createAccessKeys([
    keyEntry('ops', OPS, ['read', 'admin']),
    keyEntry('ci', CI, ['ingest']),
    keyEntry('old', 'old-key-0123456789', ['read'], Date.parse('2026-01-01T00:00:00Z')),
    ...environmentKeyEntries({ ingestKeys: [OPS], readTokens: ['reader-0123456789'] }),
  ])

  it('gives a key every scope of every entry it matches, named by the first id and its fingerprint', () => {
    const checked = keys.check(OPS)
    expect(checked).toMatchObject({ ok: true, id: 'ops', sender: keyFingerprint(OPS) })
    expect(checked.ok && [...checked.scopes].sort()).toEqual(['admin', 'ingest', 'read'])
    const reader = keys.check('reader-0123456789')
    expect(reader.ok && reader.id).toBe('CPI_READ_TOKENS#1')
  })

  it('tells unknown from expired (for logs; both are a 401)', () => {
    expect(keys.check('nope-0123456789012')).toEqual({ ok: false, reason: 'unknown' })
    expect(keys.check(`${OPS}x`)).toEqual({ ok: false, reason: 'unknown' })
    expect(keys.check('')).toEqual({ ok: false, reason: 'unknown' })
    const before = Date.parse('2025-12-31T23:59:59Z')
    expect(keys.check('old-key-0123456789', before).ok).toBe(true)
    expect(keys.check('old-key-0123456789', Date.parse('2026-01-01T00:00:00Z'))).toEqual({
      ok: false,
      reason: 'expired',
    })
  })

  it('says which scopes have any key at all', () => {
    expect(keys.configured('admin')).toBe(true)
    expect(createAccessKeys(environmentKeyEntries({ ingestKeys: [CI] })).configured('read')).toBe(false)
  })
})

describe('parseKeysFile', () => {
  const parse = (value: unknown) => parseKeysFile(JSON.stringify(value), '/etc/cpi/keys.json')
  const problem = (value: unknown) => {
    try {
      parse(value)
    } catch (error) {
      expect(error).toBeInstanceOf(KeysFileError)
      return (error as Error).message
    }
    throw new Error('expected a KeysFileError')
  }

  it('reads keys given in clear or as their SHA-256, with scopes and expiry', () => {
    const entries = parse([
      { id: 'ops-2026-11', key: OPS, scopes: ['read', 'admin'] },
      { id: 'ci', sha256: hex(CI).toUpperCase(), scopes: ['ingest'], expiresAt: '2026-12-31T00:00:00+01:00' },
    ])
    expect(entries.map((entry) => entry.id)).toEqual(['ops-2026-11', 'ci'])
    expect(entries[1]?.expiresAt).toBe(Date.parse('2026-12-30T23:00:00Z'))
    const keys = createAccessKeys(entries)
    expect(keys.check(CI, Date.parse('2026-12-01T00:00:00Z'))).toMatchObject({ ok: true, id: 'ci' })
    expect(keys.check(OPS)).toMatchObject({ ok: true, id: 'ops-2026-11' })
  })

  it('names the file, the entry and the field of each problem, never the key', () => {
    expect(problem({ keys: [] })).toBe(
      'keys file /etc/cpi/keys.json: expected a JSON array of keys, got another JSON value',
    )
    expect(problem([{ id: 'a', key: 'short-secret', scopes: ['read'] }])).toBe(
      'keys file /etc/cpi/keys.json: entry 1 (id "a"): key: expected a string of at least 16 characters, got a shorter one or another type',
    )
    expect(problem([{ id: 'a', key: OPS, sha256: hex(OPS), scopes: ['read'] }])).toMatch(
      /entry 1 \(id "a"\): expected exactly one of "key" and "sha256", got both/,
    )
    expect(problem([{ id: 'a', scopes: ['read'] }])).toMatch(/got neither/)
    expect(problem([{ id: 'a', sha256: 'abc', scopes: ['read'] }])).toMatch(/sha256: expected 64 hexadecimal/)
    expect(problem([{ id: 'a', key: OPS, scopes: ['write'] }])).toMatch(
      /scopes: expected "ingest", "read" or "admin", got "write"/,
    )
    expect(problem([{ id: 'a', key: OPS, scopes: [] }])).toMatch(/scopes: expected a non-empty array/)
    expect(problem([{ id: 'a', key: OPS, scope: ['read'] }])).toMatch(/unknown field "scope"/)
    expect(problem([{ id: 'a', key: OPS, scopes: ['read'], expiresAt: 'tomorrow' }])).toMatch(
      /expiresAt: expected an RFC 3339 time with a zone .*got "tomorrow"/,
    )
    expect(problem([{ id: 'a', key: OPS, scopes: ['read'], expiresAt: '2026-12-01T00:00:00' }])).toMatch(
      /expiresAt/,
    )
    expect(
      problem([
        { id: 'a', key: OPS, scopes: ['read'] },
        { id: 'a', key: CI, scopes: ['ingest'] },
      ]),
    ).toMatch(/entry 2 \(id "a"\): id: expected ids to be unique/)
    expect(problem([{ id: OPS.replace(/-/g, ' '), key: OPS, scopes: ['read'] }])).toMatch(
      /entry 1: id: expected/,
    )
    for (const message of [
      problem([{ id: 'a', key: OPS, scope: ['read'] }]),
      problem([{ id: 'a', key: OPS, scopes: ['x'] }]),
    ])
      expect(message).not.toContain(OPS)
  })

  it('does not repeat the text around a JSON syntax error (it may be a key)', () => {
    let message = ''
    try {
      parseKeysFile(`[{"id": "a", "key": "${OPS}", scopes: ["read"]}]`, 'keys.json')
    } catch (error) {
      message = (error as Error).message
    }
    expect(message).toMatch(/^keys file keys.json: expected JSON, got text that does not parse/)
    expect(message).not.toContain(OPS)
  })
})

describe('startKeySource', () => {
  let source: KeySource | undefined
  afterEach(() => source?.stop())

  const directory = () => mkdtemp(path.join(tmpdir(), 'cpi-keys-'))
  const waitFor = async (condition: () => boolean, timeoutMs = 5000) => {
    const until = Date.now() + timeoutMs
    while (!condition()) {
      if (Date.now() > until) throw new Error('timed out')
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  it('without a file serves the environment keys only', async () => {
    const { logger } = capture()
    source = await startKeySource({ base: environmentKeyEntries({ readTokens: [OPS] }), logger })
    expect(source.current().check(OPS).ok).toBe(true)
    expect(await source.reload()).toBe(false)
  })

  it('refuses to start on a missing or invalid file, naming it', async () => {
    const dir = await directory()
    const { logger } = capture()
    const file = path.join(dir, 'keys.json')
    await expect(startKeySource({ base: [], file, logger })).rejects.toThrow(
      `keys file ${file}: cannot read it (ENOENT)`,
    )
    await writeFile(file, '{}')
    await expect(startKeySource({ base: [], file, logger })).rejects.toThrow(/expected a JSON array/)
  })

  it('rotates without a restart: a key removed from the file is refused at once, one added is accepted', async () => {
    const dir = await directory()
    const file = path.join(dir, 'keys.json')
    const { lines, text, logger } = capture()
    await writeFile(file, JSON.stringify([{ id: 'ops-2026-10', key: OPS, scopes: ['read'] }]))
    source = await startKeySource({
      base: environmentKeyEntries({ ingestKeys: [CI] }),
      file,
      reloadMs: 60_000,
      logger,
    })
    expect(source.current().check(OPS).ok).toBe(true)
    const NEXT = 'ops-key-2026-12-0123456789'
    // Written the way secret managers do: a new file renamed over the old one.
    await writeFile(`${file}.tmp`, JSON.stringify([{ id: 'ops-2026-12', key: NEXT, scopes: ['read'] }]))
    await rename(`${file}.tmp`, file)
    await waitFor(() => source?.current().check(NEXT).ok === true) // fs.watch, not the 60 s poll
    expect(source.current().check(OPS)).toEqual({ ok: false, reason: 'unknown' })
    expect(source.current().check(CI).ok).toBe(true) // the environment's keys stay
    expect(lines.find((line) => line.msg === 'keys file reloaded')).toMatchObject({
      added: ['ops-2026-12'],
      removed: ['ops-2026-10'],
    })
    expect(text.join('')).not.toContain(OPS)
    expect(text.join('')).not.toContain(NEXT)
  })

  it('keeps the previous keys on a broken or deleted file, logs the problem once, and takes the next valid version', async () => {
    const dir = await directory()
    const file = path.join(dir, 'keys.json')
    const { lines, text, logger } = capture()
    await writeFile(file, JSON.stringify([{ id: 'ops', key: OPS, scopes: ['read'] }]))
    source = await startKeySource({ base: [], file, reloadMs: 60_000, logger })
    await writeFile(file, `[{"id": "ops", "key": "${OPS}", "scopes": ["read"]`) // cut short
    expect(await source.reload()).toBe(false)
    expect(await source.reload()).toBe(false)
    expect(source.current().check(OPS).ok).toBe(true)
    const errors = () =>
      lines.filter((line) => line.msg === 'keys file not usable; the previous keys stay in force')
    expect(errors()).toHaveLength(1)
    expect(errors()[0]).toMatchObject({ level: 50, file, problem: expect.stringMatching(/expected JSON/) })
    await rm(file)
    expect(await source.reload()).toBe(false)
    expect(source.current().check(OPS).ok).toBe(true)
    expect(errors().at(-1)?.problem).toMatch(/cannot read it \(ENOENT\)/)
    await writeFile(file, JSON.stringify([{ id: 'ops', key: OPS, scopes: ['read', 'admin'] }]))
    expect(await source.reload()).toBe(true)
    const checked = source.current().check(OPS)
    expect(checked.ok && checked.scopes.has('admin')).toBe(true)
    expect(text.join('')).not.toContain(OPS)
  })

  it('polls where watching sees nothing', async () => {
    const dir = await directory()
    const file = path.join(dir, 'keys.json')
    const { logger } = capture()
    await writeFile(file, JSON.stringify([{ id: 'ops', key: OPS, scopes: ['read'] }]))
    source = await startKeySource({ base: [], file, reloadMs: 100, logger, watchFile: false })
    await writeFile(file, JSON.stringify([{ id: 'ci', key: CI, scopes: ['ingest'] }]))
    await waitFor(() => source?.current().check(CI).ok === true)
    expect(source.current().check(OPS).ok).toBe(false)
  })
})

describe('oneAtATime', () => {
  it('answers a call during a run with that run, which then runs once more', async () => {
    const results = [false, true, false]
    const started: (() => void)[] = []
    let runs = 0
    const run = oneAtATime(async () => {
      runs++
      await new Promise<void>((resolve) => started.push(resolve))
      return results.shift() ?? false
    })
    const first = run()
    const second = run()
    const third = run()
    expect(second).toBe(first)
    expect(third).toBe(first)
    expect(runs).toBe(1)
    started.shift()?.()
    await new Promise((resolve) => setTimeout(resolve, 0))
    // A call during the run asked for one more run: only one, however many calls came.
    expect(runs).toBe(2)
    started.shift()?.()
    expect(await first).toBe(true)
    expect(runs).toBe(2)
    // Idle again: the next call starts a run of its own.
    const fourth = run()
    expect(fourth).not.toBe(first)
    started.shift()?.()
    expect(await fourth).toBe(false)
    expect(runs).toBe(3)
  })

  it('lets the next call run after a run that failed', async () => {
    let fail = true
    const run = oneAtATime(async () => {
      if (fail) throw new Error('boom')
      return true
    })
    await expect(run()).rejects.toThrow('boom')
    fail = false
    expect(await run()).toBe(true)
  })
})
