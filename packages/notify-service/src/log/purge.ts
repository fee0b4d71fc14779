import { purgeInBatches } from '@marketmesh/events'
import { durationMs, runPeriodically, type Knex, type ServiceApplication } from '@marketmesh/shared'

export const PURGE_INTERVAL_MS = 15 * 60_000

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

/** Purges the log every 15 minutes while the app runs. */
export const notificationPurge = (app: ServiceApplication) =>
  runPeriodically(app, 'notification purge', PURGE_INTERVAL_MS, () =>
    purgeNotifications(app.get('postgresqlClient'), durationMs(app.get('notificationRetention')))
  )
