import { purgeInBatches } from '@marketmesh/events'
import { durationMs, runPeriodically, type Knex, type ServiceApplication } from '@marketmesh/shared'

const PURGE_INTERVAL_MS = 60 * 60_000

/**
 * Deletes the deliveries finished (succeeded or failed) longer than `retentionMs` ago, with their
 * attempts; pending ones stay whatever their age. Returns how many went.
 */
export const purgeWebhookDeliveries = (db: Knex, retentionMs: number) =>
  purgeInBatches(db, 'webhook_deliveries', `status <> 'pending' AND "finishedAt" < now() - make_interval(secs => ?::float / 1000)`, [retentionMs])

/** Purges the delivery log every hour while the app runs. */
export const webhookDeliveryPurge = (app: ServiceApplication) =>
  runPeriodically(app, 'webhook delivery purge', PURGE_INTERVAL_MS, () =>
    purgeWebhookDeliveries(app.get('postgresqlClient'), durationMs(app.get('webhooks').deliveryRetention))
  )
