import type { Knex, ServiceHookContext } from '@marketmesh/shared'
import type { Order } from '../orders.schema'

type OrderRow = Omit<Order, 'lines' | 'timeline'>

/** After hook: every order of the result gets its lines and timeline, with one query for each on the whole page. */
export const attachLinesAndTimeline = () => async (context: ServiceHookContext) => {
  const page = context.result as { data: OrderRow[] } | OrderRow[] | OrderRow
  const orders: OrderRow[] = Array.isArray(page) ? page : 'data' in page ? page.data : [page]
  if (orders.length === 0) return
  const db: Knex = context.app.get('postgresqlClient')
  const ids = orders.map((order) => order.id)
  const [lines, timeline] = await Promise.all([
    db('order_lines').whereIn('orderId', ids).orderBy('productId').select('orderId', 'productId', 'title', 'quantity', 'unitPrice'),
    db('order_timeline').whereIn('orderId', ids).orderBy('id').select('orderId', 'at', 'from', 'to', 'by', 'reason')
  ])
  const byOrder = <T extends { orderId: string }>(rows: T[]) => {
    const grouped = new Map<string, Array<Omit<T, 'orderId'>>>()
    for (const { orderId, ...row } of rows) grouped.set(orderId, [...(grouped.get(orderId) ?? []), row])
    return grouped
  }
  const linesOf = byOrder(lines)
  const timelineOf = byOrder(timeline)
  for (const order of orders as Order[]) {
    order.lines = (linesOf.get(order.id) ?? []) as Order['lines']
    order.timeline = (timelineOf.get(order.id) ?? []) as Order['timeline']
  }
}
