import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { durationMs, purgeInBatches, type Knex, type ServiceApplication } from '@marketmesh/shared'

const PURGE_INTERVAL_MS = 15 * 60_000

/**
 * Deletes the notifications older than `retentionMs`. The horizon moves first: a client resuming
 * while the rows go is told to resync rather than replayed with a hole. Returns how many went.
 */
export const purgeNotifications = async (db: Knex, retentionMs: number) => {
  const [{ through }] = await db('notifications')
    .where('createdAt', '<', db.raw('now() - make_interval(secs => ?::float / 1000)', [retentionMs]))
    .max({ through: 'id' })
  if (through === null) return 0
  await db('notification_horizon').update({ purgedThrough: db.raw('greatest("purgedThrough", ?)', [through]) })
  return purgeInBatches(db, 'notifications', 'id <= ?', [through])
}

/** The largest id no longer kept (0 while nothing was purged). */
export const purgedThrough = async (db: Knex) => {
  const { purgedThrough } = await db('notification_horizon').first('purgedThrough')
  return Number(purgedThrough)
}

/** Purges the log every 15 minutes while the app runs (each instance: the deletes are idempotent). */
export const notificationPurge = (app: ServiceApplication) => {
  let timer: NodeJS.Timeout | undefined
  app.hooks({
    setup: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        const purge = () =>
          purgeNotifications(app.get('postgresqlClient'), durationMs(app.get('notificationRetention'))).catch((error: Error) =>
            app.get('logger').warn({ err: error.message }, 'notification purge failed')
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
