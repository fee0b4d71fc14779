import type { EventData, EventHandler } from '@marketmesh/events'

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
  deletedAt: string | null
}

interface OrderState {
  /** The event that ended the order, if its cancellation, rejection or refund was handled first. */
  endedBy: string | null
  /** Whether its reservations were made already. */
  reserved: boolean
  /** The ordered products that exist, locked (none: null). */
  products: StockRow[] | null
}

// Read under the order's lock, in one statement: whether it ended or has its reservations, and its
// products, locked in id order (concurrent orders wait for each other instead of overselling, and
// do not deadlock).
const ORDER_STATE = `
  SELECT (SELECT reason FROM tombstones WHERE aggregate = 'order' AND aggregate_id = ?) AS "endedBy",
         EXISTS (SELECT FROM reservations WHERE "orderId" = ?::uuid) AS reserved,
         (SELECT json_agg(locked ORDER BY id)
            FROM (SELECT id, "sellerId", price, currency, stock, status, "sellerDisabled", "deletedAt"
                    FROM products WHERE id = ANY(?::uuid[]) ORDER BY id FOR UPDATE) locked) AS products`

// Every line's stock taken, its reservation and `stock.reserved` written, in one statement.
const RESERVE = `
  WITH wanted AS (SELECT * FROM unnest(?::uuid[], ?::int[]) AS wanted (id, quantity)),
       taken AS (UPDATE products SET stock = products.stock - wanted.quantity, version = products.version + 1
                   FROM wanted WHERE products.id = wanted.id),
       emitted AS (?)
  INSERT INTO reservations ("orderId", "productId", quantity) SELECT ?, id, quantity FROM wanted`

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
 * concurrent orders wait for each other instead of overselling, and batches do not deadlock. An
 * order that already ended (its cancellation, rejection or refund was handled first) reserves
 * nothing. Its state and its products are read in one statement, under the order's lock (taken by
 * the batch in one before: a statement reads what committed before it began).
 */
export const reserveStock: EventHandler<'order.created'> = async (event, { trx, emit, emitAlongside, logger }) => {
  const { orderId, checkoutId, sellerId, currency } = event.data
  // The order's lock is its batch's, taken in a statement before this one's (events/index.ts declares it).
  const wanted = byProduct(event.data.lines)
  const {
    rows: [state]
  } = await trx.raw<{ rows: OrderState[] }>(ORDER_STATE, [orderId, orderId, wanted.map(([productId]) => productId)])
  if (state.endedBy) {
    logger.info({ orderId, endedBy: state.endedBy }, 'order ended before its order.created was handled; nothing reserved')
    return
  }
  if (state.reserved) {
    logger.warn({ orderId }, 'order already has reservations; order.created ignored')
    return
  }
  const products = new Map((state.products ?? []).map((row) => [row.id, row]))

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
    await emit('stock.rejected', { orderId, checkoutId, reasons })
    return
  }

  const { write: reserved } = await emitAlongside('stock.reserved', {
    orderId,
    checkoutId,
    currency,
    lines: wanted.map(([productId, quantity]) => ({ productId, quantity, unitPrice: products.get(productId)!.price }))
  })
  // A seller's absolute stock write read before this must not apply (its version check fails).
  await trx.raw(RESERVE, [wanted.map(([productId]) => productId), wanted.map(([, quantity]) => quantity), reserved, orderId])
}
