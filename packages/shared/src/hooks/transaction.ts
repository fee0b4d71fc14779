import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '../declarations'
import { runInTransaction, withEventCause } from '@marketmesh/events'

/**
 * Around hook: the service method and every hook after this one run in one database transaction
 * (`params.transaction`, which @feathersjs/knex services use), committed when they all succeed.
 * Events emitted with `emitEvent` inside it go to the outbox in that same transaction and carry
 * the request id as their correlation id.
 */
export const inTransaction = () => async (context: HookContext<ServiceApplication>, next: NextFunction) => {
  const params = context.params as KnexAdapterParams
  if (params.transaction?.trx) return next()
  const transaction = () =>
    runInTransaction(context.app.get('postgresqlClient'), async (trx) => {
      context.params = { ...context.params, transaction: { starting: false, trx } }
      await next()
    })
  const { requestId } = context.params
  await (requestId ? withEventCause({ correlationId: requestId, causationId: null }, transaction) : transaction())
  context.params = { ...context.params, transaction: undefined }
}

/** The transaction `inTransaction` opened; a hook that needs one and finds none is a wiring mistake. */
export const transactionOf = (context: HookContext) => {
  const trx = (context.params as KnexAdapterParams).transaction?.trx
  if (!trx) throw new Error(`${context.path}.${context.method}: put inTransaction() in the around hooks before this hook`)
  return trx
}
