import type { Id, NullableId } from '@feathersjs/feathers'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import { NotAuthenticated, NotFound } from '@feathersjs/errors'
import type { Principal, ServiceApplication } from '@marketmesh/shared'
import { cancel, deliver, lockOrder, ship, type OrderRow } from '../../orders/order'
import { orderColumns, type Order, type OrderPatch, type OrderQuery } from './orders.schema'

export type { Order, OrderPatch, OrderQuery }

export type OrderParams = KnexAdapterParams<OrderQuery>

const canSee = (principal: Principal, order: OrderRow) =>
  principal.role === 'admin' ||
  (principal.role === 'buyer' && order.buyerId === principal.id) ||
  (principal.role === 'seller' && order.sellerId === principal.sellerId)

/**
 * Orders as rows of `orders`; their lines and timeline are attached after (one query each per
 * page). A PATCH is a step of the order (orders/order.ts: ship, deliver, cancel), not a field update;
 * another user's order answers 404.
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
    const { principal } = params
    const order = await lockOrder(trx, String(id))
    if (!order || !canSee(principal, order)) throw new NotFound(`No record found for id '${id}'`)
    if (data.status === 'shipped') await ship(this.app, trx, order, principal, data.trackingNumber)
    else if (data.status === 'delivered') await deliver(this.app, trx, order, principal)
    else await cancel(this.app, trx, order, principal)
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
