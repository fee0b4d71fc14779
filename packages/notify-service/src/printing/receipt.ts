import type { EventData, Receipt } from '@marketmesh/shared'

/** The receipt of a paid order, from `order.paid` alone: no other service is asked. */
export const receiptOf = (order: EventData<'order.paid'>): Receipt => ({
  shopName: order.shopName,
  orderId: order.orderId,
  placedAt: order.placedAt,
  buyerName: order.buyerName,
  shippingAddress: order.shippingAddress,
  lines: order.lines.map(({ title, quantity, unitPrice }) => ({ title, quantity, unitPrice, total: quantity * unitPrice })),
  total: order.total,
  currency: order.currency
})
