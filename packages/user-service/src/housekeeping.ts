import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { ServiceApplication } from '@marketmesh/shared'
import { purgeSessions } from './authentication/sessions'

const PURGE_INTERVAL_MS = 15 * 60_000

/** Deletes the rows no request needs any more; answers how many of each kind. */
export const purgeExpired = async (app: ServiceApplication) => ({
  refreshTokens: await purgeSessions(app.get('postgresqlClient')),
  rateLimits: await app.get('rateLimits').purge()
})

/**
 * Runs `purgeExpired` every 15 minutes while the app is up. Every instance does: the purges delete a
 * few thousand rows per statement, so instances running them at once only share the work.
 */
export const housekeeping = (app: ServiceApplication) => {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  const run = async () => {
    try {
      const purged = await purgeExpired(app)
      if (Object.values(purged).some((count) => count > 0)) app.get('logger').info({ purged }, 'purged expired rows')
    } catch (error) {
      app.get('logger').warn({ err: (error as Error).message }, 'purge failed')
    }
  }
  app.hooks({
    setup: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        timer = setInterval(() => (running = run()), PURGE_INTERVAL_MS).unref()
      }
    ],
    // Before the kit's teardown closes the pool.
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        clearInterval(timer)
        await running
        await next()
      }
    ]
  })
}
