import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { ServiceApplication } from './declarations'

/**
 * Runs `task` every `intervalMs` from the app's setup to its teardown, which waits for a run in
 * progress before the kit closes the pool. Every instance runs it: tasks such as purges delete in
 * batches and are idempotent, so instances running them at once only share the work. A failure is
 * logged with `what` and tried again next time.
 */
export const runPeriodically = (app: ServiceApplication, what: string, intervalMs: number, task: () => Promise<unknown>) => {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> = Promise.resolve()
  const run = () => task().catch((error: Error) => app.get('logger').warn({ err: error.message }, `${what} failed`))
  app.hooks({
    setup: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        timer = setInterval(() => (running = run()), intervalMs).unref()
      }
    ],
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        clearInterval(timer)
        await running
        await next()
      }
    ]
  })
}
