import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

export interface Keyring {
  /** Checks a presented key in constant time against every configured key. */
  verify(presented: string): { ok: true; sender: string } | { ok: false }
  readonly size: number
}

const digest = (key: string) => createHash('sha256').update(key).digest()

/** A non-secret name for a key, safe to log and to store with what it sent. */
export const keyFingerprint = (key: string) => digest(key).toString('hex').slice(0, 12)

export function createKeyring(keys: readonly string[]): Keyring {
  // Comparing digests gives equal lengths, which timingSafeEqual needs, and leaks no length.
  const entries = keys.map((key) => ({ digest: digest(key), sender: keyFingerprint(key) }))
  return {
    size: entries.length,
    verify(presented) {
      const candidate = digest(presented)
      let match: string | undefined
      for (const entry of entries) {
        // Every key is compared, match or not, so timing does not tell which one matched.
        if (timingSafeEqual(candidate, entry.digest)) match ??= entry.sender
      }
      return match === undefined ? { ok: false } : { ok: true, sender: match }
    },
  }
}

/**
 * Local mode without CPI_INGEST_KEYS: one key, generated on first start and kept in
 * `<dataDir>/ingest-key` (readable by the owner only). `created` says whether this start made it.
 */
export async function loadOrCreateLocalKey(
  dataDir: string,
): Promise<{ key: string; file: string; created: boolean }> {
  const file = path.join(dataDir, 'ingest-key')
  const existing = await readFile(file, 'utf8').catch(() => undefined)
  if (existing?.trim()) return { key: existing.trim(), file, created: false }
  await mkdir(dataDir, { recursive: true })
  const key = `cpi_local_${randomBytes(24).toString('base64url')}`
  await writeFile(file, `${key}\n`, { mode: 0o600 })
  return { key, file, created: true }
}

/** The key of an `Authorization: Bearer <key>` header, or why there is none. */
export function bearerKey(
  header: string | undefined,
): { ok: true; key: string } | { ok: false; message: string } {
  if (!header) return { ok: false, message: 'expected an Authorization: Bearer <key> header, got none' }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!match?.[1])
    return { ok: false, message: 'expected an Authorization: Bearer <key> header, got another scheme' }
  return { ok: true, key: match[1] }
}
