import { runInTransaction } from '@marketmesh/events'
import { type ServiceApplication } from '@marketmesh/shared'
import { WITHDRAW_SKIPPED_JOBS, withdrawSkippedJobs } from './print-job'

/** Carries out the withdrawals a cancellation left for later: once, after its commit, on one instance. */
export const withdrawSkipped = (app: ServiceApplication) => {
  const db = app.get('postgresqlClient')
  app.get('events').effects.perform<{ orderId: string }>(WITHDRAW_SKIPPED_JOBS, async ({ payload }) => {
    const withdrawn = await runInTransaction(db, (trx) => withdrawSkippedJobs(trx, payload.orderId))
    if (withdrawn > 0) app.get('logger').info({ orderId: payload.orderId, withdrawn }, "cancelled order's jobs withdrawn once their claim had ended")
  })
}
