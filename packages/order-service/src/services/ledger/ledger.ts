import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, noQueryValidator, requireRole, type ServiceApplication } from '@marketmesh/shared'
import { LedgerService } from './ledger.class'
import { ledgerMethods, ledgerPath } from './ledger.shared'

export * from './ledger.class'

export const ledger = (app: ServiceApplication) => {
  app.use(ledgerPath, new LedgerService(app), { methods: [...ledgerMethods], events: [] })
  app.service(ledgerPath).hooks({
    before: {
      // The ledger is one view per caller: it takes no filters.
      find: [authenticated(), requireRole('seller', 'admin'), schemaHooks.validateQuery(noQueryValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [ledgerPath]: LedgerService
  }
}
