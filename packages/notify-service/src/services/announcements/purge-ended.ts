import { purgeInBatches } from '@marketmesh/events'
import { runPeriodically, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { PURGE_INTERVAL_MS } from '../../log/purge'

/**
 * Deletes the announcements that have ended: neither a stream opening nor `GET /announcements`
 * shows them again, and their log rows go with the log's retention. One without `endsAt` is
 * current until further notice and stays. Returns how many went.
 */
export const purgeEndedAnnouncements = (db: Knex) => purgeInBatches(db, 'announcements', '"endsAt" < now()', [])

/** Purges ended announcements as often as the log, while the app runs. */
export const announcementPurge = (app: ServiceApplication) =>
  runPeriodically(app, 'announcement purge', PURGE_INTERVAL_MS, () => purgeEndedAnnouncements(app.get('postgresqlClient')))
