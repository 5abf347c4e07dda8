import type { FastifyInstance } from 'fastify'

/**
 * One dependency readiness depends on; `check` resolves true when it answers, or says what is
 * wrong in a `detail`. An advisory check is reported but does not make the process unready: it
 * tells about something the process cannot fix by being restarted or taken out of rotation (a
 * stalled partition upstream).
 */
export interface ReadinessCheck {
  name: string
  check(): Promise<boolean | { ok: boolean; detail?: string }>
  advisory?: boolean
}

export interface CheckResult {
  name: string
  ok: boolean
  ms: number
  /** What is wrong, when the check says. */
  detail?: string
  /** Present (true) on advisory checks. */
  advisory?: true
}

/** Runs every check concurrently, each bounded by the timeout (a hung one counts as down). */
export async function runChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async ({ name, check, advisory }) => {
      const started = performance.now()
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs)
      })
      const outcome = await Promise.race([check().catch(() => false), timedOut])
      clearTimeout(timer)
      const { ok, detail } = typeof outcome === 'boolean' ? { ok: outcome, detail: undefined } : outcome
      return {
        name,
        ok,
        ms: Math.round(performance.now() - started),
        ...(detail === undefined ? {} : { detail }),
        ...(advisory ? { advisory: true as const } : {}),
      }
    }),
  )
}

/**
 * `GET /healthz`: liveness, shallow (the event loop answers). `GET /readyz`: readiness, 200
 * only when every dependency answers and shutdown has not begun, 503 otherwise with the reason.
 * A failing advisory check keeps 200 with status `degraded` and its detail.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  options: { checks: readonly ReadinessCheck[]; timeoutMs: number; isShuttingDown(): boolean },
): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    if (options.isShuttingDown()) return reply.code(503).send({ status: 'shutting_down', checks: [] })
    const checks = await runChecks(options.checks, options.timeoutMs)
    const ready = checks.every((check) => check.ok || check.advisory)
    const status = !ready ? 'not_ready' : checks.every((check) => check.ok) ? 'ready' : 'degraded'
    return reply.code(ready ? 200 : 503).send({ status, checks })
  })
}
