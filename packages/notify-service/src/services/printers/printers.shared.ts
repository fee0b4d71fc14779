import type { Paginated, Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Printer, PrinterQuery } from './printers.schema'

export type { Printer, PrinterQuery }

export interface PrinterClientService {
  find(params?: Params<PrinterQuery>): Promise<Paginated<Printer>>
}

export const printerPath = 'printers'

export const printerMethods = ['find'] as const

export const printerClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(printerPath, connection.service(printerPath), { methods: [...printerMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [printerPath]: PrinterClientService
  }
}
