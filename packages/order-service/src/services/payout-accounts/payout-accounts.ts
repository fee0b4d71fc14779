import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, rateLimitedHttp, requireRole, stableOrder, type ServiceApplication } from '@marketmesh/shared'
import { limitToOwnShop } from '../../hooks'
import { getOptions, PayoutAccountService } from './payout-accounts.class'
import { limitAccountRequests } from './hooks'
import { payoutAccountDataValidator, payoutAccountExternalResolver, payoutAccountQueryValidator } from './payout-accounts.schema'
import { payoutAccountMethods, payoutAccountPath } from './payout-accounts.shared'

export * from './payout-accounts.class'
export * from './payout-accounts.schema'

export const payoutAccount = (app: ServiceApplication) => {
  app.use(payoutAccountPath, new PayoutAccountService(getOptions(app), app), {
    methods: [...payoutAccountMethods],
    events: [],
    koa: { before: [rateLimitedHttp()] }
  })
  app.service(payoutAccountPath).hooks({
    around: {
      all: [schemaHooks.validateQuery(payoutAccountQueryValidator), schemaHooks.resolveExternal(payoutAccountExternalResolver)],
      create: [authenticated(), requireRole('seller'), limitAccountRequests]
    },
    before: {
      find: [authenticated(), requireRole('seller', 'admin'), limitToOwnShop(), stableOrder()],
      create: [limitToOwnShop(), schemaHooks.validateData(payoutAccountDataValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [payoutAccountPath]: PayoutAccountService
  }
}
