import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, inTransaction, noQueryValidator, requireRole, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { idempotent } from '../../hooks'
import { CheckoutService } from './checkouts.class'
import { awaitPaymentAnswer, requireVerifiedEmail } from './hooks'
import { checkoutDataValidator } from './checkouts.schema'
import { checkoutMethods, checkoutPath } from './checkouts.shared'

export * from './checkouts.class'
export * from './checkouts.schema'

const buyers = [authenticated(), requireRole('buyer')]

export const checkout = (app: ServiceApplication) => {
  app.use(checkoutPath, new CheckoutService(app), { methods: [...checkoutMethods], events: [] })
  app.service(checkoutPath).hooks({
    around: {
      // A checkout takes no query: refused first, before the caller, the transaction and the key.
      all: [schemaHooks.validateQuery(noQueryValidator)],
      // The caller is known before a transaction opens; the key is checked and kept inside it; the
      // answer waits for the provider's answer to the authorization once the checkout has committed.
      create: [...buyers, requireVerifiedEmail, awaitPaymentAnswer, inTransaction(), idempotent()]
    },
    before: {
      all: [uuidIds()],
      create: [schemaHooks.validateData(checkoutDataValidator)],
      get: [...buyers]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [checkoutPath]: CheckoutService
  }
}
