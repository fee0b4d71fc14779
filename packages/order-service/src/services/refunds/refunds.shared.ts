import type { Paginated, Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Refund, RefundData, RefundQuery } from './refunds.schema'

export type { Refund, RefundData, RefundQuery }

export interface RefundClientService {
  find(params?: Params<RefundQuery>): Promise<Paginated<Refund>>
  create(data: RefundData, params?: Params): Promise<Refund>
}

export const refundPath = 'refunds'

export const refundMethods = ['find', 'create'] as const

export const refundClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(refundPath, connection.service(refundPath), { methods: [...refundMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [refundPath]: RefundClientService
  }
}
