import { purgeInBatches } from '@marketmesh/events'
import { runPeriodically, type Knex, type ServiceApplication } from '@marketmesh/shared'

const PURGE_INTERVAL_MS = 15 * 60_000

/** Deletes the keys past their time to live; returns how many. */
export const purgeExpiredIdempotencyKeys = (db: Knex) => purgeInBatches(db, 'idempotency_keys', '"expiresAt" < now()', [])

/** Purges expired Idempotency-Keys every 15 minutes while the app runs. */
export const idempotencyKeyPurge = (app: ServiceApplication) =>
  runPeriodically(app, 'idempotency key purge', PURGE_INTERVAL_MS, () => purgeExpiredIdempotencyKeys(app.get('postgresqlClient')))
