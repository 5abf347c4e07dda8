import type { z } from 'zod'

/** Thrown when the environment does not satisfy a schema; the message names every bad variable. */
export class ConfigError extends Error {
  readonly issues: readonly { variable: string; message: string }[]

  constructor(issues: readonly { variable: string; message: string }[]) {
    super(
      `invalid configuration:\n${issues.map((issue) => `  ${issue.variable}: ${issue.message}`).join('\n')}`,
    )
    this.name = 'ConfigError'
    this.issues = issues
  }
}

/**
 * Parses environment variables with a zod object schema whose keys are the variable names.
 * Empty strings count as unset, so `FOO=` falls back to the default like an absent `FOO`.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
  options: { secrets?: ReadonlySet<string> } = {},
): z.infer<S> {
  const cleaned: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== '') cleaned[key] = value.trim()
  }
  const result = schema.safeParse(cleaned)
  if (result.success) return result.data
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: issue.path[0] === undefined ? '(environment)' : String(issue.path[0]),
      message: describeIssue(issue, cleaned, options.secrets),
    })),
  )
}

function describeIssue(
  issue: z.core.$ZodIssue,
  env: Record<string, string>,
  secrets: ReadonlySet<string> = new Set(),
): string {
  const variable = issue.path[0]
  const value = typeof variable === 'string' ? env[variable] : undefined
  // A secret's value is never repeated, only its length: the message goes to logs and terminals.
  const got =
    value === undefined
      ? ''
      : secrets.has(variable as string)
        ? ` (got a value of ${value.length} characters, not shown)`
        : ` (got ${JSON.stringify(value)})`
  // A list variable (KAFKA_BROKERS) names the entry that is wrong, counting from 1.
  const entry = typeof issue.path[1] === 'number' ? `entry ${issue.path[1] + 1}: ` : ''
  return `${entry}${issue.message}${got}`
}
