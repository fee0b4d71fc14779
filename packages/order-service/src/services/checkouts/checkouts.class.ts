import { BadRequest, Conflict, NotFound } from '@feathersjs/errors'
import type { Id, Params } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import { invalidField, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { randomUUID } from 'node:crypto'
import { place, type NewOrder } from '../../orders/order'
import type { PaymentRow } from '../../orders/payment'
import { paymentProviders } from '../../payments'
import type { Checkout, CheckoutData, CheckoutPayment } from './checkouts.schema'

export type { Checkout, CheckoutData, CheckoutPayment }

export type CheckoutParams = KnexAdapterParams & Params

// Totals are stored as PostgreSQL integers.
const MAX_TOTAL = 2_147_483_647

interface ProductRow {
  id: string
  sellerId: string
  title: string
  price: number
  currency: string
  status: string
  deleted: boolean
  /** The seller's account status from the users read model; null until their `user.*` event has arrived. */
  sellerStatus: string | null
  /** Whether the seller has an enabled payout account at the checkout's provider. */
  sellerPayable: boolean
  /** The seller's shop name from the users read model. */
  shopName: string | null
  /** The buyer's name from the users read model (the same on every row; null until their `user.registered` has arrived). */
  buyerName: string | null
}

type PlannedOrder = Omit<NewOrder, 'shopName'>

/** The payment as the buyer sees it: its client secret only while their app needs it to confirm the payment. */
export const paymentView = (payment: PaymentRow): CheckoutPayment => ({
  id: payment.id,
  provider: payment.provider,
  status: payment.status,
  amount: payment.amount,
  captured: payment.captured,
  refunded: payment.refunded,
  currency: payment.currency,
  ...(payment.status === 'requires_action' && payment.clientSecret ? { clientSecret: payment.clientSecret } : {})
})

/**
 * One buyer's cart becomes one order per seller, placed (orders/order.ts `place`: all `pending`,
 * with their lines, timelines and `order.created` events) in one transaction. Products come from the read model: no call to
 * catalog-service, whose stock reservation then confirms the lines and their prices (and refuses
 * those of a seller disabled since this read model heard of it).
 */
export class CheckoutService {
  constructor(private readonly app: ServiceApplication) {}

  async create(data: CheckoutData, params: CheckoutParams): Promise<Checkout> {
    const trx = params.transaction?.trx
    if (!trx) throw new Error('checkouts.create runs in the transaction of inTransaction()')
    const buyerId = params.principal!.id
    if (!paymentProviders(this.app)[data.payment.provider]) throw invalidField('payment.provider', `no payment provider ${data.payment.provider}`)
    const quantities = new Map<string, number>()
    const firstIndex = new Map<string, number>()
    data.items.forEach(({ productId, quantity }, index) => {
      quantities.set(productId, (quantities.get(productId) ?? 0) + quantity)
      if (!firstIndex.has(productId)) firstIndex.set(productId, index)
    })
    const products = await this.productsOf(trx, buyerId, [...quantities.keys()], data.payment.provider)
    for (const [productId, index] of firstIndex) {
      const product = products.get(productId)
      if (!product || product.deleted) throw invalidField(`items.${index}.productId`, `no product ${productId}`)
      if (product.status !== 'active') throw invalidField(`items.${index}.productId`, `product ${productId} is not available`)
      if (product.sellerStatus === 'disabled') {
        throw new Conflict(`Product ${productId} (items.${index}.productId) cannot be bought: its seller is unavailable`, {
          field: `items.${index}.productId`,
          productId
        })
      }
      if (this.app.get('requirePayoutAccount') && !product.sellerPayable) {
        throw new Conflict(`Product ${productId} (items.${index}.productId) cannot be bought: its seller cannot be paid yet`, {
          field: `items.${index}.productId`,
          productId
        })
      }
      if (quantities.get(productId)! > 999) throw invalidField(`items.${index}.quantity`, 'must be <= 999 in all for one product')
    }
    const currencies = new Set([...products.values()].map((product) => product.currency))
    if (currencies.size > 1) throw invalidField('items', `all products must have one currency (found ${[...currencies].sort().join(', ')})`)
    const [currency] = currencies

    const planned = this.splitBySeller(quantities, products)
    const [{ buyerName: knownBuyerName }] = products.values()
    // Until the buyer's user.registered has arrived, the receipt names the addressee.
    const buyerName = knownBuyerName ?? data.shippingAddress.name
    const checkoutId = randomUUID()
    const shopNames = new Map([...products.values()].map((product) => [product.sellerId, product.shopName]))
    const orders = planned.map((order) => ({ ...order, shopName: shopNames.get(order.sellerId) ?? null }))
    const payment = await place(
      this.app,
      trx,
      { id: checkoutId, buyerId, buyerName, currency, shippingAddress: data.shippingAddress, payment: data.payment },
      orders
    )
    return {
      id: checkoutId,
      status: 'pending',
      orders: planned.map((order) => ({ id: order.id, sellerId: order.sellerId, status: 'pending', total: order.total, currency })),
      payment: paymentView(payment)
    }
  }

  async get(id: Id, params: CheckoutParams): Promise<Checkout> {
    const db: Knex = this.app.get('postgresqlClient')
    const checkout = await db('checkouts')
      .where({ id: String(id), buyerId: params.principal!.id })
      .first('id')
    if (!checkout) throw new NotFound(`No checkout ${id}`)
    const orders = await db('orders').where({ checkoutId: checkout.id }).orderBy('sellerId').select('id', 'sellerId', 'status', 'total', 'currency')
    const payment: PaymentRow = await db('payments').where({ checkoutId: checkout.id }).first()
    return {
      id: checkout.id,
      status: orders.some((order) => order.status === 'pending') ? 'pending' : 'settled',
      orders,
      payment: paymentView(payment)
    }
  }

  /** The products with their sellers' and the buyer's names, in one statement. */
  private async productsOf(trx: Knex.Transaction, buyerId: string, ids: string[], provider: string) {
    const payable = trx('payout_accounts').where({ provider, status: 'enabled' }).whereRaw('payout_accounts."sellerId" = products."sellerId"')
    const buyerName = trx('users').where({ id: buyerId }).select('name')
    const rows: ProductRow[] = await trx('products')
      .leftJoin('users', 'users.id', 'products.sellerId')
      .whereIn('products.id', ids)
      .select(
        'products.id',
        'products.sellerId',
        'title',
        'price',
        'currency',
        'products.status',
        'deleted',
        'users.status as sellerStatus',
        'users.shopName',
        trx.raw('exists (?) AS "sellerPayable"', [payable]),
        trx.raw('(?) AS "buyerName"', [buyerName])
      )
    return new Map(rows.map((row) => [row.id, row]))
  }

  private splitBySeller(quantities: Map<string, number>, products: Map<string, ProductRow>): PlannedOrder[] {
    const bySeller = new Map<string, PlannedOrder>()
    for (const [productId, quantity] of quantities) {
      const product = products.get(productId)!
      const order = bySeller.get(product.sellerId) ?? { id: randomUUID(), sellerId: product.sellerId, lines: [], total: 0 }
      order.lines.push({ productId, title: product.title, quantity, unitPrice: product.price })
      order.total += quantity * product.price
      if (order.total > MAX_TOTAL) throw new BadRequest(`Invalid items: the total of one seller's order exceeds ${MAX_TOTAL}`)
      bySeller.set(product.sellerId, order)
    }
    return [...bySeller.values()]
  }
}
