import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { purgeInBatches, type Knex, type ServiceApplication } from '@marketmesh/shared'

const PURGE_INTERVAL_MS = 15 * 60_000

/** Deletes the keys past their time to live; returns how many. */
export const purgeExpiredIdempotencyKeys = (db: Knex) => purgeInBatches(db, 'idempotency_keys', '"expiresAt" < now()', [])

/** Purges expired Idempotency-Keys every 15 minutes while the app runs (each instance: the deletes are idempotent). */
export const idempotencyKeyPurge = (app: ServiceApplication) => {
  let timer: NodeJS.Timeout | undefined
  app.hooks({
    setup: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        const purge = () =>
          purgeExpiredIdempotencyKeys(app.get('postgresqlClient')).catch((error: Error) =>
            app.get('logger').warn({ err: error.message }, 'idempotency key purge failed')
          )
        timer = setInterval(purge, PURGE_INTERVAL_MS)
      }
    ],
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        clearInterval(timer)
        await next()
      }
    ]
  })
}
