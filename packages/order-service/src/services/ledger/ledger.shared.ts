import type { Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { LedgerView } from './ledger.schema'

export type { LedgerView }

export interface LedgerClientService {
  find(params?: Params): Promise<LedgerView>
}

export const ledgerPath = 'ledger'

export const ledgerMethods = ['find'] as const

export const ledgerClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(ledgerPath, connection.service(ledgerPath), { methods: [...ledgerMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [ledgerPath]: LedgerClientService
  }
}
