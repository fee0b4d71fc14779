import { type EventData } from '@marketmesh/events'
import { printableReceipt, type Receipt } from '@marketmesh/receipts'

/**
 * The receipt of a paid order, from `order.paid` alone: no other service is asked. Its text is
 * made printable here, once for every way a device gets it (`print.job` messages, CloudPRNT,
 * `GET /print-jobs`, reprints): `order.paid` may carry text from before the input checks.
 */
export const receiptOf = (order: EventData<'order.paid'>): Receipt =>
  printableReceipt({
    shopName: order.shopName,
    orderId: order.orderId,
    placedAt: order.placedAt,
    buyerName: order.buyerName,
    shippingAddress: order.shippingAddress,
    lines: order.lines.map(({ title, quantity, unitPrice }) => ({ title, quantity, unitPrice, total: quantity * unitPrice })),
    total: order.total,
    currency: order.currency
  })
