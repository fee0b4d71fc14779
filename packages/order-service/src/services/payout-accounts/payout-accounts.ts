import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, principalOf, requireRole, type ServiceApplication, type ServiceHookContext } from '@marketmesh/shared'
import { getOptions, PayoutAccountService, type PayoutAccountParams } from './payout-accounts.class'
import { payoutAccountDataValidator, payoutAccountExternalResolver, payoutAccountQueryValidator } from './payout-accounts.schema'
import { payoutAccountMethods, payoutAccountPath } from './payout-accounts.shared'

export * from './payout-accounts.class'
export * from './payout-accounts.schema'

/** A seller sees and opens their own accounts (a seller's token without a shop, none); an admin sees all. */
const limitToOwnAccounts = () => async (context: ServiceHookContext) => {
  if (!context.params.provider) return
  const principal = principalOf(context)
  if (principal.role !== 'admin') (context.params as PayoutAccountParams).sellerId = principal.sellerId ?? null
}

export const payoutAccount = (app: ServiceApplication) => {
  app.use(payoutAccountPath, new PayoutAccountService(getOptions(app), app), { methods: [...payoutAccountMethods], events: [] })
  app.service(payoutAccountPath).hooks({
    around: {
      all: [schemaHooks.validateQuery(payoutAccountQueryValidator), schemaHooks.resolveExternal(payoutAccountExternalResolver)]
    },
    before: {
      find: [authenticated(), requireRole('seller', 'admin'), limitToOwnAccounts()],
      create: [authenticated(), requireRole('seller'), limitToOwnAccounts(), schemaHooks.validateData(payoutAccountDataValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [payoutAccountPath]: PayoutAccountService
  }
}
