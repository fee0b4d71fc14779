import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, inTransaction, requireRole, stableOrder, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { idempotent } from '../../hooks'
import { getOptions, RefundService } from './refunds.class'
import { refundDataValidator, refundExternalResolver, refundQueryValidator } from './refunds.schema'
import { refundMethods, refundPath } from './refunds.shared'
import { limitToOwnOrders } from './hooks'

export * from './refunds.class'
export * from './refunds.schema'

export const refund = (app: ServiceApplication) => {
  app.use(refundPath, new RefundService(getOptions(app), app), { methods: [...refundMethods], events: [] })
  app.service(refundPath).hooks({
    around: {
      // The query is refused first, before the caller, the transaction and the key (as at checkout).
      all: [schemaHooks.validateQuery(refundQueryValidator), schemaHooks.resolveExternal(refundExternalResolver)],
      // Admins refund; like a checkout, the same Idempotency-Key of the same admin pays back once.
      create: [authenticated(), requireRole('admin'), inTransaction(), idempotent()]
    },
    before: {
      all: [uuidIds()],
      // Buyers and sellers find the refunds of their own orders, admins all.
      find: [authenticated(), requireRole('buyer', 'seller', 'admin'), limitToOwnOrders(), stableOrder()],
      create: [schemaHooks.validateData(refundDataValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [refundPath]: RefundService
  }
}
