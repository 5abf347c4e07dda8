import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

export { createKeyring, type Keyring, keyFingerprint } from '@cpi/runtime'

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
