import { NotFound } from '@feathersjs/errors'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '@marketmesh/shared'
import { lockOrder, refund } from '../../orders/order'
import { SYSTEM } from '../../orders/status'
import type { Refund, RefundData, RefundQuery } from './refunds.schema'

export type { Refund, RefundData, RefundQuery }

export type RefundParams = KnexAdapterParams<RefundQuery> & {
  /** Only the refunds of this buyer's or seller's orders (hooks/limit-to-own-orders.ts). */
  ordersOf?: { buyerId: string } | { sellerId: string | null }
}

/**
 * Refunds as rows of `refunds`, found only among the orders of `params.ordersOf` when it is
 * given; creating one is the order's `refund` step (orders/order.ts), paid back by the provider after.
 */
export class RefundService extends KnexService<Refund, RefundData, RefundParams> {
  constructor(
    options: KnexAdapterOptions,
    private readonly app: ServiceApplication
  ) {
    super(options)
  }

  override async create(data: RefundData, params?: RefundParams): Promise<Refund>
  override async create(data: RefundData[], params?: RefundParams): Promise<Refund[]>
  override async create(data: RefundData | RefundData[], params: RefundParams = {}): Promise<Refund | Refund[]> {
    const trx = params.transaction?.trx
    if (Array.isArray(data) || !trx) throw new Error('refunds.create takes one refund and runs in the transaction of inTransaction()')
    const order = await lockOrder(trx, data.orderId)
    if (!order) throw new NotFound(`No order ${data.orderId}`)
    // Its createdAt is a Date until the response is serialized.
    return (await refund(this.app, trx, order, { amount: data.amount, reason: data.reason, by: params.principal?.id ?? SYSTEM })) as unknown as Refund
  }

  override createQuery(params: RefundParams = {}) {
    const builder = super.createQuery(params)
    if (params.ordersOf) builder.whereIn('refunds.orderId', this.Model('orders').select('id').where(params.ordersOf))
    return builder
  }
}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'refunds'
})
