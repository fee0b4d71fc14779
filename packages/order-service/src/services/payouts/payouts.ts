import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, principalOf, requireRole, type ServiceApplication, type ServiceHookContext } from '@marketmesh/shared'
import { getOptions, PayoutService, type PayoutParams } from './payouts.class'
import { payoutQueryValidator } from './payouts.schema'
import { payoutMethods, payoutPath } from './payouts.shared'

export * from './payouts.class'
export * from './payouts.schema'

/** A seller finds their own payouts (a seller's token without a shop, none); an admin all. */
const limitToOwnPayouts = () => async (context: ServiceHookContext) => {
  if (!context.params.provider) return
  const principal = principalOf(context)
  if (principal.role !== 'admin') (context.params as PayoutParams).sellerId = principal.sellerId ?? null
}

export const payout = (app: ServiceApplication) => {
  app.use(payoutPath, new PayoutService(getOptions(app)), { methods: [...payoutMethods], events: [] })
  app.service(payoutPath).hooks({
    before: {
      find: [schemaHooks.validateQuery(payoutQueryValidator), authenticated(), requireRole('seller', 'admin'), limitToOwnPayouts()]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [payoutPath]: PayoutService
  }
}
