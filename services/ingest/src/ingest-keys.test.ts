import { mkdtemp, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { bearerKey, createKeyring, keyFingerprint, loadOrCreateLocalKey } from './ingest-keys.ts'

describe('createKeyring', () => {
  const keyring = createKeyring(['first-key-0123456789', 'second-key-0123456789'])

  it('accepts each configured key and names its sender by fingerprint', () => {
    expect(keyring.verify('second-key-0123456789')).toEqual({
      ok: true,
      sender: keyFingerprint('second-key-0123456789'),
    })
    expect(keyFingerprint('second-key-0123456789')).toMatch(/^[0-9a-f]{12}$/)
  })

  it('refuses anything else, including prefixes and empty keys', () => {
    for (const presented of ['first-key', 'first-key-01234567890', '', 'SECOND-KEY-0123456789']) {
      expect(keyring.verify(presented)).toEqual({ ok: false })
    }
  })
})

describe('bearerKey', () => {
  it('reads the key of a Bearer header and explains what is wrong otherwise', () => {
    expect(bearerKey('Bearer abc')).toEqual({ ok: true, key: 'abc' })
    expect(bearerKey('bearer abc ')).toEqual({ ok: true, key: 'abc' })
    expect(bearerKey(undefined)).toMatchObject({ ok: false, message: expect.stringContaining('got none') })
    expect(bearerKey('Basic dXNlcjpwYXNz')).toMatchObject({
      ok: false,
      message: expect.stringContaining('another scheme'),
    })
  })
})

describe('loadOrCreateLocalKey', () => {
  it('creates a key once, owner-readable only, and returns the same key afterwards', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'cpi-key-'))
    const first = await loadOrCreateLocalKey(dataDir)
    expect(first.created).toBe(true)
    expect(first.key).toMatch(/^cpi_local_[A-Za-z0-9_-]{32}$/)
    expect((await stat(first.file)).mode & 0o777).toBe(0o600)
    const second = await loadOrCreateLocalKey(dataDir)
    expect(second).toEqual({ ...first, created: false })
    expect((await readFile(first.file, 'utf8')).trim()).toBe(first.key)
  })
})
