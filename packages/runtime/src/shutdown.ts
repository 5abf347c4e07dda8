import type { Logger } from '@cpi/logger'

export interface ShutdownStep {
  name: string
  run(): Promise<void>
}

/**
 * Runs shutdown steps in order (stop taking work, drain, flush, close clients), each logged;
 * a failing step does not stop the rest. A timer forces the exit if the whole sequence hangs.
 */
export function createShutdown(options: {
  logger: Logger
  timeoutMs: number
  steps: () => readonly ShutdownStep[]
  exit?: (code: number) => void
}) {
  const exit = options.exit ?? ((code: number) => process.exit(code))
  let started: Promise<void> | undefined
  let shuttingDown = false

  const shutdown = (reason: string, exitCode = 0): Promise<void> => {
    started ??= (async () => {
      shuttingDown = true
      options.logger.info({ reason }, 'shutting down')
      const force = setTimeout(() => {
        options.logger.error({ timeoutMs: options.timeoutMs }, 'shutdown timed out; forcing exit')
        exit(1)
      }, options.timeoutMs)
      force.unref()
      let code = exitCode
      for (const step of options.steps()) {
        try {
          await step.run()
          options.logger.info({ step: step.name }, 'shutdown step done')
        } catch (error) {
          code = 1
          options.logger.error({ err: error, step: step.name }, 'shutdown step failed')
        }
      }
      clearTimeout(force)
      options.logger.info({ exitCode: code }, 'stopped')
      exit(code)
    })()
    return started
  }

  return {
    shutdown,
    isShuttingDown: () => shuttingDown,
    /** SIGINT/SIGTERM start the shutdown; uncaught errors are logged and shut down with exit code 1. */
    installSignalHandlers() {
      process.once('SIGINT', () => void shutdown('SIGINT'))
      process.once('SIGTERM', () => void shutdown('SIGTERM'))
      process.on('uncaughtException', (error) => {
        options.logger.fatal({ err: error }, 'uncaught exception')
        void shutdown('uncaughtException', 1)
      })
      process.on('unhandledRejection', (error) => {
        options.logger.fatal({ err: error }, 'unhandled rejection')
        void shutdown('unhandledRejection', 1)
      })
    },
  }
}
