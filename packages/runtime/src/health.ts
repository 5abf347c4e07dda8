import type { FastifyInstance } from 'fastify'

/** One dependency readiness depends on; `check` resolves true when it answers. */
export interface ReadinessCheck {
  name: string
  check(): Promise<boolean>
}

export interface CheckResult {
  name: string
  ok: boolean
  ms: number
}

/** Runs every check concurrently, each bounded by the timeout (a hung one counts as down). */
export async function runChecks(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async ({ name, check }) => {
      const started = performance.now()
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs)
      })
      const ok = await Promise.race([check().catch(() => false), timedOut])
      clearTimeout(timer)
      return { name, ok, ms: Math.round(performance.now() - started) }
    }),
  )
}

/**
 * `GET /healthz`: liveness, shallow (the event loop answers). `GET /readyz`: readiness, 200
 * only when every dependency answers and shutdown has not begun, 503 otherwise with the reason.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  options: { checks: readonly ReadinessCheck[]; timeoutMs: number; isShuttingDown(): boolean },
): void {
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_request, reply) => {
    if (options.isShuttingDown()) return reply.code(503).send({ status: 'shutting_down', checks: [] })
    const checks = await runChecks(options.checks, options.timeoutMs)
    const ready = checks.every((check) => check.ok)
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks })
  })
}
