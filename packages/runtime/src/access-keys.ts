import { createHash, timingSafeEqual } from 'node:crypto'
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from '@cpi/logger'

// Bearer keys with scopes (ingest, read, admin): from the environment (CPI_INGEST_KEYS,
// CPI_READ_TOKENS, the generated local ingest key) and from a keys file (CPI_KEYS_FILE) that
// is re-read while the process runs. Checked in constant time; a key is never logged, only its
// id (from the file) and its fingerprint (first 12 hex characters of its SHA-256).

export type Scope = 'ingest' | 'read' | 'admin'
export const SCOPES: readonly Scope[] = ['ingest', 'read', 'admin']

export interface KeyEntry {
  /** Non-secret name: the file's `id`, or `CPI_INGEST_KEYS#2` for the environment's. */
  id: string
  /** SHA-256 of the key (32 bytes). */
  digest: Buffer
  scopes: readonly Scope[]
  /** Epoch ms after which the key is refused (401). */
  expiresAt?: number
}

export type AccessCheck =
  | { ok: true; id: string; sender: string; scopes: ReadonlySet<Scope> }
  | { ok: false; reason: 'unknown' | 'expired' }

export interface AccessKeys {
  /** Checks a presented key in constant time against every key; scopes of every matching entry add up. */
  check(presented: string, now?: number): AccessCheck
  /** Whether any key (expired or not) carries the scope: "the API has keys configured". */
  configured(scope: Scope): boolean
  readonly size: number
  /** The keys' ids (not secret), for logs. */
  readonly ids: readonly string[]
}

const sha256 = (key: string) => createHash('sha256').update(key).digest()

/** A key as an entry; the key itself is kept only as its digest. */
export function keyEntry(id: string, key: string, scopes: readonly Scope[], expiresAt?: number): KeyEntry {
  return { id, digest: sha256(key), scopes, ...(expiresAt === undefined ? {} : { expiresAt }) }
}

/** The environment's keys as entries: CPI_INGEST_KEYS (ingest), CPI_READ_TOKENS (read). */
export function environmentKeyEntries(options: {
  ingestKeys?: readonly string[] | undefined
  readTokens?: readonly string[] | undefined
  /** The key local mode generates in `<dataDir>/ingest-key` when CPI_INGEST_KEYS is unset. */
  localIngestKey?: string | undefined
}): KeyEntry[] {
  return [
    ...(options.ingestKeys ?? []).map((key, index) =>
      keyEntry(`CPI_INGEST_KEYS#${index + 1}`, key, ['ingest']),
    ),
    ...(options.readTokens ?? []).map((key, index) =>
      keyEntry(`CPI_READ_TOKENS#${index + 1}`, key, ['read']),
    ),
    ...(options.localIngestKey ? [keyEntry('local-ingest-key', options.localIngestKey, ['ingest'])] : []),
  ]
}

export function createAccessKeys(entries: readonly KeyEntry[]): AccessKeys {
  const list = entries.map((entry) => ({ ...entry, scopes: new Set(entry.scopes) }))
  return {
    size: list.length,
    ids: list.map((entry) => entry.id),
    configured: (scope) => list.some((entry) => entry.scopes.has(scope)),
    check(presented, now = Date.now()) {
      // Comparing digests gives equal lengths, which timingSafeEqual needs, and leaks no length.
      const candidate = sha256(presented)
      let id: string | undefined
      let matched = false
      const scopes = new Set<Scope>()
      // Every entry is compared, match or not, so timing does not tell which one matched.
      for (const entry of list) {
        const equal = timingSafeEqual(candidate, entry.digest)
        matched ||= equal
        if (equal && (entry.expiresAt === undefined || now < entry.expiresAt)) {
          id ??= entry.id
          for (const scope of entry.scopes) scopes.add(scope)
        }
      }
      if (id === undefined) return { ok: false, reason: matched ? 'expired' : 'unknown' }
      return { ok: true, id, sender: candidate.toString('hex').slice(0, 12), scopes }
    },
  }
}

/** A keys file that cannot be used; the message names the file, the entry and the field, never a key. */
export class KeysFileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeysFileError'
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/
const HEX64 = /^[0-9a-fA-F]{64}$/
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/
const FIELDS = new Set(['id', 'key', 'sha256', 'scopes', 'expiresAt'])

/**
 * Parses a keys file: a JSON array of `{ id, key | sha256, scopes, expiresAt? }`. Throws a
 * KeysFileError naming the first problem (file, entry, field); the error never holds a key.
 */
export function parseKeysFile(text: string, file: string): KeyEntry[] {
  const fail = (message: string): never => {
    throw new KeysFileError(`keys file ${file}: ${message}`)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (error) {
    // JSON.parse's message quotes the text around the error, which may be a key: not repeated.
    const reason = error instanceof Error ? error.message : ''
    const position = /position (\d+)/.exec(reason)?.[1]
    const where = position
      ? ` (at offset ${position})`
      : /end of JSON|Unterminated/i.test(reason)
        ? ' (it ends too early)'
        : ''
    fail(`expected JSON, got text that does not parse${where}`)
  }
  if (!Array.isArray(value)) fail('expected a JSON array of keys, got another JSON value')
  const seen = new Set<string>()
  return (value as unknown[]).map((item, index) => {
    const at = `entry ${index + 1}`
    if (typeof item !== 'object' || item === null || Array.isArray(item)) fail(`${at}: expected an object`)
    const entry = item as Record<string, unknown>
    const { id, key, sha256: hash, scopes, expiresAt } = entry
    if (typeof id !== 'string' || !ID.test(id))
      fail(`${at}: id: expected 1 to 128 letters, digits or . _ : @ - (a name, not the key)`)
    const named = `${at} (id ${JSON.stringify(id)})`
    if (seen.has(id as string)) fail(`${named}: id: expected ids to be unique, got it twice`)
    seen.add(id as string)
    const unknown = Object.keys(entry).filter((field) => !FIELDS.has(field))
    if (unknown.length > 0)
      fail(
        `${named}: unknown field ${unknown.map((field) => JSON.stringify(field)).join(', ')} (expected id, key or sha256, scopes, expiresAt)`,
      )
    if ((key === undefined) === (hash === undefined))
      fail(
        `${named}: expected exactly one of "key" and "sha256", got ${key === undefined ? 'neither' : 'both'}`,
      )
    if (key !== undefined && (typeof key !== 'string' || key.length < 16))
      fail(`${named}: key: expected a string of at least 16 characters, got a shorter one or another type`)
    if (key !== undefined && typeof key === 'string' && key.trim() !== key)
      fail(`${named}: key: expected no leading or trailing whitespace`)
    if (hash !== undefined && (typeof hash !== 'string' || !HEX64.test(hash)))
      fail(`${named}: sha256: expected 64 hexadecimal characters (the SHA-256 of the key)`)
    if (!Array.isArray(scopes) || scopes.length === 0)
      fail(`${named}: scopes: expected a non-empty array of "ingest", "read", "admin"`)
    for (const scope of scopes as unknown[])
      if (!SCOPES.includes(scope as Scope))
        fail(`${named}: scopes: expected "ingest", "read" or "admin", got ${JSON.stringify(scope)}`)
    let expires: number | undefined
    if (expiresAt !== undefined) {
      expires = typeof expiresAt === 'string' && RFC3339.test(expiresAt) ? Date.parse(expiresAt) : Number.NaN
      if (!Number.isFinite(expires))
        fail(
          `${named}: expiresAt: expected an RFC 3339 time with a zone (2026-11-30T00:00:00Z), got ${JSON.stringify(expiresAt)}`,
        )
    }
    return {
      id: id as string,
      digest:
        typeof hash === 'string' ? Buffer.from(hash.toLowerCase(), 'hex') : sha256(key as unknown as string),
      scopes: [...new Set(scopes as Scope[])],
      ...(expires === undefined ? {} : { expiresAt: expires }),
    }
  })
}

export interface KeySource {
  /** The keys in force now (the environment's plus the file's last valid version). */
  current(): AccessKeys
  /** Reads the file again now; true when the keys changed. Never throws: a bad file keeps the previous keys. */
  reload(): Promise<boolean>
  stop(): void
}

/**
 * The keys a process accepts: `base` (the environment's), plus the keys file when there is one,
 * re-read when it changes (fs.watch on its folder, which also sees Kubernetes' symlink swaps, and
 * a poll every `reloadMs` where watching is not available). At start an unreadable or invalid
 * file throws (the process does not start on a broken file); afterwards a bad version is logged
 * once, precisely, and the previous keys stay in force until a valid version appears.
 */
export async function startKeySource(options: {
  base: readonly KeyEntry[]
  file?: string | undefined
  reloadMs?: number
  logger: Logger
  /** false: poll only (tests of the fallback). */
  watchFile?: boolean
}): Promise<KeySource> {
  const { base, file } = options
  const logger = options.logger.child({ component: 'keys' })
  if (!file) {
    const keys = createAccessKeys(base)
    return { current: () => keys, reload: async () => false, stop: () => undefined }
  }

  const initial = await readKeysFile(file)
  let keys = createAccessKeys([...base, ...parseKeysFile(initial, file)])
  let lastSeen: string | undefined = initial
  let lastProblem: string | undefined
  logger.info({ file, count: keys.size, ids: keys.ids }, 'keys loaded')

  const reloadOnce = async (): Promise<boolean> => {
    try {
      const text = await readKeysFile(file)
      // Unchanged, or the same broken version (logged once already).
      if (text === lastSeen) return false
      lastSeen = text
      const next = createAccessKeys([...base, ...parseKeysFile(text, file)])
      const before = new Set(keys.ids)
      keys = next
      lastProblem = undefined
      logger.info(
        {
          file,
          count: next.size,
          added: next.ids.filter((id) => !before.has(id)),
          removed: [...before].filter((id) => !next.ids.includes(id)),
        },
        'keys file reloaded',
      )
      return true
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (message !== lastProblem) {
        lastProblem = message
        logger.error({ file, problem: message }, 'keys file not usable; the previous keys stay in force')
      }
      // Once readable again, the file is parsed even if its text is the one seen before.
      if (/cannot read it/.test(message)) lastSeen = undefined
      return false
    }
  }
  const reload = oneAtATime(reloadOnce)
  const stopWatching = options.watchFile !== false ? watchKeysFile(file, reload, logger) : () => undefined
  const poll = setInterval(() => void reload(), options.reloadMs ?? 5000)
  poll.unref()

  return {
    current: () => keys,
    reload,
    stop() {
      clearInterval(poll)
      stopWatching()
    },
  }
}

/** The keys file's text; a KeysFileError naming the file and the system's code when it cannot be read. */
async function readKeysFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : 'error')
    throw new KeysFileError(`keys file ${file}: cannot read it (${code})`)
  }
}

/**
 * `task` run one at a time: a call while it runs is answered by the run in progress, which then
 * runs once more (a change noticed during one gets a run of its own right after); true when any run
 * of it said true.
 */
export function oneAtATime(task: () => Promise<boolean>): () => Promise<boolean> {
  let running: Promise<boolean> | undefined
  let again = false
  return () => {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      let changed = false
      do {
        again = false
        changed = (await task()) || changed
      } while (again)
      return changed
    })().finally(() => {
      running = undefined
    })
    return running
  }
}

/**
 * Watches the keys file's folder (which also sees Kubernetes' symlink swaps) and calls `changed`
 * 50 ms after the last event; where watching fails, logs it once and leaves the poll alone.
 * Returns the function that stops watching.
 */
function watchKeysFile(file: string, changed: () => Promise<boolean>, logger: Logger): () => void {
  let debounce: NodeJS.Timeout | undefined
  let watcher: FSWatcher | undefined
  try {
    watcher = watch(path.dirname(file), { persistent: false }, () => {
      clearTimeout(debounce)
      debounce = setTimeout(() => void changed(), 50)
      debounce.unref()
    })
    watcher.on('error', (error) => {
      logger.warn({ file, err: error }, 'cannot watch the keys file; polling it only')
      watcher?.close()
      watcher = undefined
    })
  } catch (error) {
    logger.warn({ file, err: error }, 'cannot watch the keys file; polling it only')
  }
  return () => {
    clearTimeout(debounce)
    watcher?.close()
  }
}
