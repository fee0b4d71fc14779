import { authenticated, requireRole, type ServiceApplication } from '@marketmesh/shared'
import { LedgerService } from './ledger.class'
import { ledgerMethods, ledgerPath } from './ledger.shared'

export * from './ledger.class'

export const ledger = (app: ServiceApplication) => {
  app.use(ledgerPath, new LedgerService(app), { methods: [...ledgerMethods], events: [] })
  app.service(ledgerPath).hooks({
    before: {
      find: [authenticated(), requireRole('seller', 'admin')]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [ledgerPath]: LedgerService
  }
}
