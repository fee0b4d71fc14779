import { lockAggregate, tombstoneOf, type EventData, type EventHandler } from '@marketmesh/events'

type Line = EventData<'order.created'>['lines'][number]
type Rejection = EventData<'stock.rejected'>['reasons'][number]

interface StockRow {
  id: string
  sellerId: string
  price: number
  currency: string
  stock: number
  status: string
  sellerDisabled: boolean
  deletedAt: Date | null
}

/** The same product on two lines is one reservation of the sum. */
const byProduct = (lines: Line[]) => {
  const quantities = new Map<string, number>()
  for (const { productId, quantity } of lines) quantities.set(productId, (quantities.get(productId) ?? 0) + quantity)
  return [...quantities].sort(([a], [b]) => (a < b ? -1 : 1))
}

/** A line quoting `productId` at other than `price`, the price it is reserved at. */
const quotedOtherwise = (lines: Line[], productId: string, price: number) =>
  lines.find((line) => line.productId === productId && line.unitPrice !== price)

/**
 * The catalog's step of the order saga: every line of the order is reserved, or none is, and only
 * at the unit prices the buyer was quoted: a price changed since is `price_changed`, so the buyer
 * is never charged other than what the checkout said. Its batch holds the locks of the order and of
 * its products (declared in events/index.ts), and the product rows are locked in id order, so
 * concurrent orders wait for each other instead of overselling, and batches do not deadlock. An order that
 * already ended (its cancellation, rejection or refund was handled first) reserves nothing.
 */
export const reserveStock: EventHandler<'order.created'> = async (event, { trx, emit, logger }) => {
  const { orderId, sellerId, currency } = event.data
  await lockAggregate(trx, 'order', orderId)
  const endedBy = await tombstoneOf(trx, 'order', orderId)
  if (endedBy) {
    logger.info({ orderId, endedBy }, 'order ended before its order.created was handled; nothing reserved')
    return
  }
  if (await trx('reservations').where({ orderId }).first('orderId')) {
    logger.warn({ orderId }, 'order already has reservations; order.created ignored')
    return
  }
  const wanted = byProduct(event.data.lines)
  const rows: StockRow[] = await trx('products')
    .whereIn(
      'id',
      wanted.map(([productId]) => productId)
    )
    .orderBy('id')
    .forUpdate()
    .select('id', 'sellerId', 'price', 'currency', 'stock', 'status', 'sellerDisabled', 'deletedAt')
  const products = new Map(rows.map((row) => [row.id, row]))

  const reasons: Rejection[] = []
  for (const [productId, quantity] of wanted) {
    const product = products.get(productId)
    const quote = product && quotedOtherwise(event.data.lines, productId, product.price)
    const reason =
      !product || product.deletedAt
        ? 'not_found'
        : product.status !== 'active'
          ? 'not_available'
          : product.sellerId !== sellerId
            ? 'wrong_seller'
            : product.sellerDisabled
              ? 'seller_unavailable'
              : product.currency !== currency
                ? 'currency_mismatch'
                : quote
                  ? `price_changed: quoted ${quote.unitPrice}, now ${product.price}`
                  : product.stock < quantity
                    ? `insufficient_stock: ${product.stock} left`
                    : undefined
    if (reason) reasons.push({ productId, reason })
  }
  if (reasons.length > 0) {
    await emit('stock.rejected', { orderId, reasons })
    return
  }

  // Every line's stock taken and its reservation written, in one statement. A seller's absolute
  // stock write read before this must not apply (its version check fails).
  await trx.raw(
    `WITH wanted AS (SELECT * FROM unnest(?::uuid[], ?::int[]) AS wanted (id, quantity)),
          taken AS (UPDATE products SET stock = products.stock - wanted.quantity, version = products.version + 1
                      FROM wanted WHERE products.id = wanted.id)
     INSERT INTO reservations ("orderId", "productId", quantity) SELECT ?, id, quantity FROM wanted`,
    [wanted.map(([productId]) => productId), wanted.map(([, quantity]) => quantity), orderId]
  )
  await emit('stock.reserved', {
    orderId,
    currency,
    lines: wanted.map(([productId, quantity]) => ({ productId, quantity, unitPrice: products.get(productId)!.price }))
  })
}
