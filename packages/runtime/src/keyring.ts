import { createHash, timingSafeEqual } from 'node:crypto'

// Bearer keys (ingest keys, read tokens): checked in constant time, named by a non-secret fingerprint.

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
