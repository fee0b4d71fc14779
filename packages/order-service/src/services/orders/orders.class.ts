import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '@marketmesh/shared'
import { orderColumns, type Order, type OrderQuery } from './orders.schema'

export type { Order, OrderQuery }

export type OrderParams = KnexAdapterParams<OrderQuery>

/** Orders as rows of `orders`; their lines and timeline are attached after (one query each per page). */
export class OrderService extends KnexService<Order, never, OrderParams> {
  override createQuery(params: OrderParams = {}) {
    const builder = super.createQuery(params)
    if (!params.query?.$select) builder.clearSelect().select(orderColumns.map((column) => `orders.${column}`))
    return builder
  }
}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'orders'
})
