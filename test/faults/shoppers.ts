import { randomUUID } from 'node:crypto'
import { scrapedMetric, waitFor } from '@marketmesh/test-support'
import { STRIPE_TEST_PAYMENT_METHODS } from '@marketmesh/test-support/stripe'
import { call, persistentCall } from './http'
import type { Mesh } from '@marketmesh/test-support/mesh'

const PASSWORD = 'correct horse battery staple'
const BUYERS = 20
export const CHECKOUTS = 200

export interface Account {
  id: string
  email: string
  token: string
}

export interface Product {
  id: string
  sellerId: string
  stock: number
}

const register = async (mesh: Mesh, label: string, role: 'buyer' | 'seller'): Promise<Account> => {
  const users = mesh.urls.user
  const email = `${label}-${randomUUID()}@example.com`
  const user = await call(users, 'POST', '/users', {
    body: { email, password: PASSWORD, name: `${role} ${label}`, role, ...(role === 'seller' ? { shopName: `Shop ${label}` } : {}) }
  })
  const session = await call(users, 'POST', '/authentication', { body: { strategy: 'local', email, password: PASSWORD } })
  return { id: user.id, email, token: session.accessToken }
}

/** How many events of `type` a service has consumed, from its /metrics (on its ops port). */
const consumed = (opsUrl: string, type: string) => scrapedMetric(opsUrl, 'events_consumed_total', { type })

/**
 * Two sellers with a product each that is plentiful and one that runs out (some orders are
 * rejected), and twenty buyers; returns once order-service can sell the products.
 */
export const openMarket = async (mesh: Mesh, label: string) => {
  const orders = mesh.opsUrls.order
  const productsBefore = await consumed(orders, 'product.created')
  const sellers = await Promise.all([register(mesh, `${label}-s1`, 'seller'), register(mesh, `${label}-s2`, 'seller')])
  const products: Product[] = []
  for (const seller of sellers) {
    for (const [title, stock, price] of [
      ['Walnut desk lamp', 1_000, 4_999],
      ['Limited print', 40, 1_250]
    ] as const) {
      const product = await call(mesh.urls.catalog, 'POST', '/products', {
        token: seller.token,
        body: { title: `${title} ${label}`, price, currency: 'EUR', stock }
      })
      products.push({ id: product.id, sellerId: seller.id, stock })
    }
  }
  const buyers = await Promise.all(Array.from({ length: BUYERS }, (_, index) => register(mesh, `${label}-b${index}`, 'buyer')))
  await waitFor(async () => (await consumed(orders, 'product.created')) >= productsBefore + products.length, {
    what: 'order-service to know the products',
    timeoutMs: 60_000,
    intervalMs: 200
  })
  return { sellers, buyers, products }
}

export type Market = Awaited<ReturnType<typeof openMarket>>

/**
 * How a scenario's buyers pay, by provider: the `test` provider's tokens, or the payment methods
 * of Stripe's test mode that the local Stripe-compatible server knows.
 */
export const CARDS = {
  test: { good: 'tok_ok', declined: 'tok_declined' },
  stripe: { good: STRIPE_TEST_PAYMENT_METHODS.pays, declined: STRIPE_TEST_PAYMENT_METHODS.declined }
} as const

export type PaymentProviderName = keyof typeof CARDS

export interface PlacedCheckout {
  buyer: Account
  /** The ids of its orders, one per seller. */
  orderIds: string[]
  /** The buyer's card: a good one pays, a declined one is declined. */
  card: 'good' | 'declined'
  attempts: number
  /** Its answer came from the stored response of an earlier attempt that had succeeded unseen. */
  replayed: boolean
}

const shippingAddress = { name: 'Ada Buyer', line1: 'Main Street 1', city: 'Berlin', postalCode: '10115', country: 'DE' }

/**
 * The carts: every checkout buys from both sellers, a third of them the scarce products, every
 * tenth with a card that is declined.
 */
const cart = (market: Market, index: number, provider: PaymentProviderName, card: PlacedCheckout['card']) => {
  const [lampOne, printOne, lampTwo, printTwo] = market.products
  const scarce = index % 3 === 0
  return {
    items: [
      { productId: (scarce ? printOne : lampOne).id, quantity: 1 + (index % 3) },
      { productId: (scarce ? printTwo : lampTwo).id, quantity: 1 + (index % 2) }
    ],
    shippingAddress,
    payment: { provider, token: CARDS[provider][card] }
  }
}

/**
 * Fires all the checkouts at once through the HTTP API, each with its own Idempotency-Key that
 * its retries repeat. `placed` resolves when every one has its 201; `answered` counts them as they come.
 */
export const placeCheckouts = (mesh: Mesh, market: Market, provider: PaymentProviderName) => {
  const progress = { answered: 0 }
  const placed = Promise.all(
    Array.from({ length: CHECKOUTS }, async (_, index): Promise<PlacedCheckout> => {
      const buyer = market.buyers[index % market.buyers.length]
      const card = index % 10 === 9 ? 'declined' : 'good'
      const body = cart(market, index, provider, card)
      const answer = await persistentCall(mesh.urls.order, 'POST', '/checkouts', {
        token: buyer.token,
        body,
        headers: { 'Idempotency-Key': randomUUID() },
        deadline: Date.now() + 180_000
      })
      if (answer.status !== 201) throw new Error(`checkout ${index} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
      progress.answered++
      return {
        buyer,
        orderIds: answer.body.orders.map((order: { id: string }) => order.id),
        card,
        attempts: answer.attempts,
        replayed: answer.replayed
      }
    })
  )
  return { placed, progress }
}
