import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, requireRole, type ServiceApplication } from '@marketmesh/shared'
import { LedgerService } from './ledger.class'
import { ledgerQueryValidator } from './ledger.schema'
import { ledgerMethods, ledgerPath } from './ledger.shared'

export * from './ledger.class'

export const ledger = (app: ServiceApplication) => {
  app.use(ledgerPath, new LedgerService(app), { methods: [...ledgerMethods], events: [] })
  app.service(ledgerPath).hooks({
    before: {
      // The ledger is one view per caller (and the commission per period, for admins): it takes no filters.
      find: [authenticated(), requireRole('seller', 'admin'), schemaHooks.validateQuery(ledgerQueryValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [ledgerPath]: LedgerService
  }
}
