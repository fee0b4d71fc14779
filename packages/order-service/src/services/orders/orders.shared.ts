import type { Paginated, Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Order, OrderPatch, OrderQuery } from './orders.schema'

export type { Order, OrderPatch, OrderQuery }

export interface OrderClientService {
  find(params?: Params<OrderQuery>): Promise<Paginated<Order>>
  get(id: string, params?: Params<OrderQuery>): Promise<Order>
  /** A step of the order: `shipped` (its seller), `delivered` (its buyer), `cancelled` (either, before shipping). */
  patch(id: string, data: OrderPatch, params?: Params): Promise<Order>
}

export const orderPath = 'orders'

export const orderMethods = ['find', 'get', 'patch'] as const

export const orderClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(orderPath, connection.service(orderPath), { methods: [...orderMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [orderPath]: OrderClientService
  }
}
