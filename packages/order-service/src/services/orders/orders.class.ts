import type { Id, NullableId } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import { NotAuthenticated } from '@feathersjs/errors'
import type { ServiceApplication } from '@marketmesh/shared'
import { changeOrderByRequest } from '../../orders/lifecycle'
import { orderColumns, type Order, type OrderPatch, type OrderQuery } from './orders.schema'

export type { Order, OrderPatch, OrderQuery }

export type OrderParams = KnexAdapterParams<OrderQuery>

/**
 * Orders as rows of `orders`; their lines and timeline are attached after (one query each per
 * page). A PATCH is a step of the order's lifecycle (orders/lifecycle.ts), not a field update.
 */
export class OrderService extends KnexService<Order, never, OrderParams, OrderPatch> {
  constructor(
    options: KnexAdapterOptions,
    private readonly app: ServiceApplication
  ) {
    super(options)
  }

  override async patch(id: Id, data: OrderPatch, params?: OrderParams): Promise<Order>
  override async patch(id: null, data: OrderPatch, params?: OrderParams): Promise<Order[]>
  override async patch(id: NullableId, data: OrderPatch, params: OrderParams = {}): Promise<Order | Order[]> {
    const trx = params.transaction?.trx
    if (id === null || !trx) throw new Error('orders.patch takes one id and runs in the transaction of inTransaction()')
    if (!params.principal) throw new NotAuthenticated('Not authenticated')
    await changeOrderByRequest(this.app, trx, String(id), data, params.principal)
    return this._get(id as Id, { transaction: params.transaction })
  }

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
