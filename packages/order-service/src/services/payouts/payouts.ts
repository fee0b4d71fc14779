import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, requireRole, stableOrder, type ServiceApplication } from '@marketmesh/shared'
import { limitToOwnShop } from '../../hooks'
import { getOptions, PayoutService } from './payouts.class'
import { payoutQueryValidator } from './payouts.schema'
import { payoutMethods, payoutPath } from './payouts.shared'

export * from './payouts.class'
export * from './payouts.schema'

export const payout = (app: ServiceApplication) => {
  app.use(payoutPath, new PayoutService(getOptions(app)), { methods: [...payoutMethods], events: [] })
  app.service(payoutPath).hooks({
    before: {
      find: [schemaHooks.validateQuery(payoutQueryValidator), authenticated(), requireRole('seller', 'admin'), limitToOwnShop(), stableOrder()]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [payoutPath]: PayoutService
  }
}
