import { runInTransaction } from '@marketmesh/events'
import { type ServiceApplication } from '@marketmesh/shared'
import { CONFIRM_TIMEOUT, expireClaim } from './print-job'

/**
 * Carries out the claims' timers: a durable side effect each (a row in `side_effects`, claimed by
 * one instance), so it fires once, also after a restart. Nothing is printed again by it.
 */
export const printConfirmTimeout = (app: ServiceApplication) => {
  const db = app.get('postgresqlClient')
  app.get('events').effects.perform<{ jobId: string }>(CONFIRM_TIMEOUT, async ({ payload }) => {
    const expired = await runInTransaction(db, (trx) => expireClaim(trx, payload.jobId))
    if (expired) app.get('logger').warn({ jobId: expired.id, deviceId: expired.deviceId }, 'print job claimed and not confirmed in time: unconfirmed')
  })
}
