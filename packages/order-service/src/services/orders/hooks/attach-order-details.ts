import type { KnexAdapterParams } from '@feathersjs/knex'
import type { Knex, ServiceHookContext } from '@marketmesh/shared'
import type { Order } from '../orders.schema'

type OrderRow = Omit<Order, 'lines' | 'timeline' | 'refunded' | 'refunds'>

/**
 * After hook: every order of the result gets its lines, timeline and refunds, with one query for
 * each on the whole page, and `refunded`, what its succeeded refunds paid back.
 */
export const attachOrderDetails = () => async (context: ServiceHookContext) => {
  const page = context.result as { data: OrderRow[] } | OrderRow[] | OrderRow
  const orders: OrderRow[] = Array.isArray(page) ? page : 'data' in page ? page.data : [page]
  if (orders.length === 0) return
  // A PATCH's own transaction: its new timeline step and refund are not committed yet.
  const db: Knex = (context.params as KnexAdapterParams).transaction?.trx ?? context.app.get('postgresqlClient')
  const ids = orders.map((order) => order.id)
  // One after another: a transaction's connection runs one query at a time.
  const lines = await db('order_lines').whereIn('orderId', ids).orderBy('productId').select('orderId', 'productId', 'title', 'quantity', 'unitPrice')
  const timeline = await db('order_timeline').whereIn('orderId', ids).orderBy('id').select('orderId', 'at', 'from', 'to', 'by', 'reason')
  const refunds = await db('refunds')
    .whereIn('orderId', ids)
    .orderBy(['createdAt', 'id'])
    .select('orderId', 'id', 'amount', 'currency', 'status', 'reason', 'createdAt')
  const byOrder = <T extends { orderId: string }>(rows: T[]) => {
    const grouped = new Map<string, Array<Omit<T, 'orderId'>>>()
    for (const { orderId, ...row } of rows) grouped.set(orderId, [...(grouped.get(orderId) ?? []), row])
    return grouped
  }
  const linesOf = byOrder(lines)
  const timelineOf = byOrder(timeline)
  const refundsOf = byOrder(refunds)
  for (const order of orders as Order[]) {
    order.lines = (linesOf.get(order.id) ?? []) as Order['lines']
    order.timeline = (timelineOf.get(order.id) ?? []) as Order['timeline']
    order.refunds = (refundsOf.get(order.id) ?? []) as Order['refunds']
    order.refunded = order.refunds.filter(({ status }) => status === 'succeeded').reduce((sum, { amount }) => sum + amount, 0)
  }
}
