import type { Paginated, Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Order, OrderQuery } from './orders.schema'

export type { Order, OrderQuery }

export interface OrderClientService {
  find(params?: Params<OrderQuery>): Promise<Paginated<Order>>
  get(id: string, params?: Params<OrderQuery>): Promise<Order>
}

export const orderPath = 'orders'

export const orderMethods = ['find', 'get'] as const

export const orderClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(orderPath, connection.service(orderPath), { methods: [...orderMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [orderPath]: OrderClientService
  }
}
