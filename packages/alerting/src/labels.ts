import { createHash } from 'node:crypto'

/** Labels of any alert: plain strings, as Alertmanager and the `alerts` table keep them. */
export type Labels = Readonly<Record<string, string>>

/** A stable id for a label set: sha256 of the labels sorted by name, first 16 hex characters. */
export function fingerprint(labels: Labels): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((name) => [name, labels[name]])
  // JSON keeps names and values apart whatever characters they contain.
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16)
}
