import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, inTransaction, requireRole, type ServiceApplication } from '@marketmesh/shared'
import { idempotent } from '../../hooks'
import { CheckoutService } from './checkouts.class'
import { checkoutDataValidator } from './checkouts.schema'
import { checkoutMethods, checkoutPath } from './checkouts.shared'

export * from './checkouts.class'
export * from './checkouts.schema'

const buyers = [authenticated(), requireRole('buyer')]

export const checkout = (app: ServiceApplication) => {
  app.use(checkoutPath, new CheckoutService(app), { methods: [...checkoutMethods], events: [] })
  app.service(checkoutPath).hooks({
    around: {
      // The caller is known before a transaction opens; the key is checked and kept inside it.
      create: [...buyers, inTransaction(), idempotent()]
    },
    before: {
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
