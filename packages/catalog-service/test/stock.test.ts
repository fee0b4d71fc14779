import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventData, EventType } from '@marketmesh/events'
import { metricValue, waitFor } from '@marketmesh/test-support'
import { envelope, productData, seller, startCatalog, type Catalog } from './helpers'

let catalog: Catalog
beforeAll(async () => {
  // Small batches handled four at a time: concurrent orders really race for the rows.
  catalog = await startCatalog('stock', { amqp: { concurrency: 4, batchSize: 2 } })
})
afterAll(() => catalog?.close())

const createProduct = async (owner: ReturnType<typeof seller>, overrides: Record<string, unknown> = {}) =>
  (await catalog.call('POST', '/products', { as: owner, body: productData(overrides) })).body

/** An order.created quoting each line at `productData`'s price unless it names its own. */
const order = (sellerId: string, lines: Array<{ productId: string; quantity: number; unitPrice?: number }>, currency = 'EUR') => {
  const withPrices = lines.map((line) => ({ unitPrice: productData().price, ...line }))
  return {
    orderId: randomUUID(),
    buyerId: randomUUID(),
    sellerId,
    version: 1,
    checkoutId: randomUUID(),
    lines: withPrices,
    total: withPrices.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0),
    currency
  } satisfies EventData<'order.created'>
}

const stockOf = async (id: string) => (await catalog.db('products').where({ id }).first('stock')).stock
const orderRef = (created: EventData<'order.created'>, version = 2) => ({
  orderId: created.orderId,
  buyerId: created.buyerId,
  sellerId: created.sellerId,
  version
})

/** The catalog's answer to an order: stock.reserved or stock.rejected. */
const outcomeOf = async (orderId: string) => {
  const outcome = () =>
    catalog.received.find(
      (event) => ['stock.reserved', 'stock.rejected'].includes(event.type) && (event.data as { orderId: string }).orderId === orderId
    )
  await waitFor(outcome, { what: `the outcome of order ${orderId}` })
  return outcome()!
}

/** A product with `stock` and an order for `quantity` of it, once the catalog has answered the order. */
const orderOfNew = async (stock: number, quantity: number) => {
  const owner = seller()
  const product = await createProduct(owner, { stock })
  const created = order(owner.sellerId!, [{ productId: product.id, quantity }])
  await catalog.emit('order.created', created)
  return { product, created, outcome: await outcomeOf(created.orderId) }
}

const counted = (metric: string, type: EventType) => metricValue(catalog.app.get('metrics'), metric, { type })
const untilCounted = (metric: string, type: EventType, count: number) =>
  waitFor(async () => (await counted(metric, type)) === count, { what: `${metric} of ${type} to reach ${count}` })

describe('stock reservation on order.created', () => {
  it('reserves every line or none, at the prices the buyer was quoted', async () => {
    const owner = seller()
    const lamp = await createProduct(owner, { stock: 5, price: 2_500 })
    const shade = await createProduct(owner, { stock: 1, price: 700 })

    const tooMuch = order(owner.sellerId!, [
      { productId: lamp.id, quantity: 2, unitPrice: 2_500 },
      { productId: shade.id, quantity: 3, unitPrice: 700 }
    ])
    await catalog.emit('order.created', tooMuch)
    const rejected = await outcomeOf(tooMuch.orderId)
    expect(rejected).toMatchObject({ type: 'stock.rejected', data: { reasons: [{ productId: shade.id, reason: 'insufficient_stock: 1 left' }] } })
    expect([await stockOf(lamp.id), await stockOf(shade.id)]).toEqual([5, 1])

    const fits = order(owner.sellerId!, [
      { productId: lamp.id, quantity: 2, unitPrice: 2_500 },
      { productId: shade.id, quantity: 1, unitPrice: 700 }
    ])
    await catalog.emit('order.created', fits)
    const reserved = await outcomeOf(fits.orderId)
    expect(reserved.type).toBe('stock.reserved')
    expect((reserved.data as EventData<'stock.reserved'>).lines.sort((a, b) => a.unitPrice - b.unitPrice)).toEqual([
      { productId: shade.id, quantity: 1, unitPrice: 700 },
      { productId: lamp.id, quantity: 2, unitPrice: 2_500 }
    ])
    expect([await stockOf(lamp.id), await stockOf(shade.id)]).toEqual([3, 0])
  })

  it('names the reason of every line it refuses', async () => {
    const owner = seller()
    const archived = await createProduct(owner, { status: 'archived' })
    const dollars = await createProduct(owner, { currency: 'USD' })
    const foreign = await createProduct(seller())
    const missing = randomUUID()
    const created = order(
      owner.sellerId!,
      [archived, dollars, foreign, { id: missing }].map((p) => ({ productId: p.id, quantity: 1 }))
    )
    await catalog.emit('order.created', created)
    const outcome = await outcomeOf(created.orderId)
    expect(outcome.type).toBe('stock.rejected')
    const reasons = Object.fromEntries((outcome.data as EventData<'stock.rejected'>).reasons.map((r) => [r.productId, r.reason]))
    expect(reasons).toEqual({
      [archived.id]: 'not_available',
      [dollars.id]: 'currency_mismatch',
      [foreign.id]: 'wrong_seller',
      [missing]: 'not_found'
    })
  })

  it('rejects an order quoting a price other than the catalog’s now (price_changed), reserving nothing', async () => {
    const owner = seller()
    const lamp = await createProduct(owner, { stock: 5, price: 2_500 })
    const shade = await createProduct(owner, { stock: 5, price: 700 })
    const { body: raised } = await catalog.call('PATCH', `/products/${lamp.id}`, { as: owner, body: { price: 2_900 } })
    expect(raised.price).toBe(2_900)

    const quotedBefore = order(owner.sellerId!, [
      { productId: lamp.id, quantity: 1, unitPrice: 2_500 },
      { productId: shade.id, quantity: 2, unitPrice: 700 }
    ])
    await catalog.emit('order.created', quotedBefore)
    const outcome = await outcomeOf(quotedBefore.orderId)
    expect(outcome).toMatchObject({
      type: 'stock.rejected',
      data: { reasons: [{ productId: lamp.id, reason: 'price_changed: quoted 2500, now 2900' }] }
    })
    // Cheaper than quoted is a change too: the buyer agreed to one total, and is charged exactly it.
    const quotedHigher = order(owner.sellerId!, [{ productId: shade.id, quantity: 1, unitPrice: 900 }])
    await catalog.emit('order.created', quotedHigher)
    expect((await outcomeOf(quotedHigher.orderId)).data).toMatchObject({
      reasons: [{ productId: shade.id, reason: 'price_changed: quoted 900, now 700' }]
    })
    expect([await stockOf(lamp.id), await stockOf(shade.id)]).toEqual([5, 5])
    expect(await catalog.db('reservations').whereIn('orderId', [quotedBefore.orderId, quotedHigher.orderId])).toEqual([])
  })

  it('rejects an order for a product of a disabled seller (seller_unavailable), and reserves again once the seller is re-enabled', async () => {
    const owner = seller()
    const user = { userId: owner.id, email: `${owner.id}@example.com`, name: 'Ada', role: 'seller' as const, shopName: 'Ada’s Attic' }
    await catalog.emit('user.registered', { ...user, version: 1, status: 'active' })
    const product = await createProduct(owner, { stock: 5 })
    const sellerAt = (version: number) =>
      waitFor(() => catalog.db('sellers').first('id').where({ id: owner.id, version }), { what: `seller version ${version}` })

    const updatesBefore = await counted('events_consumed_total', 'user.updated')
    await catalog.emit('user.updated', { ...user, version: 3, status: 'disabled' })
    await sellerAt(3)
    // An older event arriving late does not re-enable the seller.
    await catalog.emit('user.updated', { ...user, version: 2, status: 'active' })
    await untilCounted('events_consumed_total', 'user.updated', updatesBefore + 2)
    const raced = order(owner.sellerId!, [{ productId: product.id, quantity: 1 }])
    await catalog.emit('order.created', raced)
    expect(await outcomeOf(raced.orderId)).toMatchObject({
      type: 'stock.rejected',
      data: { reasons: [{ productId: product.id, reason: 'seller_unavailable' }] }
    })
    expect(await stockOf(product.id)).toBe(5)

    await catalog.emit('user.updated', { ...user, version: 4, status: 'active' })
    await sellerAt(4)
    const later = order(owner.sellerId!, [{ productId: product.id, quantity: 1 }])
    await catalog.emit('order.created', later)
    expect((await outcomeOf(later.orderId)).type).toBe('stock.reserved')
    expect(await stockOf(product.id)).toBe(4)
  })

  it('never oversells: 50 concurrent single-unit orders for 10 in stock reserve exactly 10', async () => {
    const owner = seller()
    const product = await createProduct(owner, { stock: 10 })
    const orders = Array.from({ length: 50 }, () => order(owner.sellerId!, [{ productId: product.id, quantity: 1 }]))
    await Promise.all(orders.map((created) => catalog.emit('order.created', created)))
    const outcomes = await Promise.all(orders.map((created) => outcomeOf(created.orderId)))
    expect(outcomes.filter((event) => event.type === 'stock.reserved')).toHaveLength(10)
    expect(outcomes.filter((event) => event.type === 'stock.rejected')).toHaveLength(40)
    expect(await stockOf(product.id)).toBe(0)
    expect(await catalog.db('reservations').where('productId', product.id).sum({ n: 'quantity' })).toEqual([{ n: 10 }])
    // The orders waited for each other on the row lock: none hit the stock >= 0 constraint and had to be retried.
    expect(await counted('events_failed_total', 'order.created')).toBe(0)
  })
})

describe('stock release', () => {
  it('gives the stock back once, even when the cancel is delivered twice and a refund follows', async () => {
    const { product, created, outcome } = await orderOfNew(10, 4)
    expect(outcome.type).toBe('stock.reserved')
    expect(await stockOf(product.id)).toBe(6)

    const cancelled = envelope('order.cancelled', { ...orderRef(created), reason: 'payment_failed' })
    await catalog.publishRaw(cancelled)
    await catalog.publishRaw(cancelled)
    await untilCounted('events_duplicates_total', 'order.cancelled', 1)
    await catalog.emit('order.refunded', { ...orderRef(created), amount: 10_000, currency: 'EUR' })
    await untilCounted('events_consumed_total', 'order.refunded', 1)

    const released = await catalog.eventsOf('stock.released', 1, (event) => event.data.orderId === created.orderId)
    expect(released).toHaveLength(1)
    expect(released[0].data.lines).toEqual([{ productId: product.id, quantity: 4 }])
    expect(await stockOf(product.id)).toBe(10)
  })

  it('keeps the stock of a refund that is money only, and gives it back once for one that restocks', async () => {
    const { product, created, outcome } = await orderOfNew(10, 4)
    expect(outcome.type).toBe('stock.reserved')
    const before = await counted('events_consumed_total', 'order.refunded')
    await catalog.emit('order.refunded', { ...orderRef(created), amount: 100, currency: 'EUR', restock: false })
    // An event written before `restock` existed is money only too.
    await catalog.emit('order.refunded', { ...orderRef(created), amount: 100, currency: 'EUR' })
    await untilCounted('events_consumed_total', 'order.refunded', before + 2)
    expect(await stockOf(product.id)).toBe(6)

    const restocking = envelope('order.refunded', { ...orderRef(created), amount: 9_800, currency: 'EUR', restock: true })
    await catalog.publishRaw(restocking)
    await catalog.publishRaw(restocking)
    await untilCounted('events_duplicates_total', 'order.refunded', 1)
    const released = await catalog.eventsOf('stock.released', 1, (event) => event.data.orderId === created.orderId)
    expect(released).toHaveLength(1)
    expect(released[0].data.lines).toEqual([{ productId: product.id, quantity: 4 }])
    expect(await stockOf(product.id)).toBe(10)
  })

  it('releases nothing for an order whose stock was rejected', async () => {
    const { product, created, outcome } = await orderOfNew(1, 2)
    expect(outcome.type).toBe('stock.rejected')
    const before = await counted('events_consumed_total', 'order.rejected')
    await catalog.emit('order.rejected', { ...orderRef(created), reason: 'out_of_stock' })
    await untilCounted('events_consumed_total', 'order.rejected', before + 1)
    expect(
      catalog.received.filter((event) => event.type === 'stock.released' && (event.data as { orderId: string }).orderId === created.orderId)
    ).toEqual([])
    expect(await stockOf(product.id)).toBe(1)
  })
})

describe('events of one order in any order', () => {
  const reservedFor = (orderId: string) =>
    catalog.received.filter((event) => event.type === 'stock.reserved' && (event.data as { orderId: string }).orderId === orderId)

  it.each(['order.cancelled', 'order.rejected'] as const)(
    '%s handled before its order.created leaves the stock exactly as before',
    async (ending) => {
      const owner = seller()
      const product = await createProduct(owner, { stock: 5 })
      const created = order(owner.sellerId!, [{ productId: product.id, quantity: 3 }])
      const before = await counted('events_consumed_total', 'order.created')
      const endedBefore = await counted('events_consumed_total', ending)

      // As when order.created failed once and went to the back of the queue behind its cancellation.
      await catalog.emit(ending, { ...orderRef(created), reason: ending === 'order.cancelled' ? 'timeout' : 'out_of_stock' })
      await untilCounted('events_consumed_total', ending, endedBefore + 1)
      await catalog.emit('order.created', created)
      await untilCounted('events_consumed_total', 'order.created', before + 1)

      expect(await stockOf(product.id)).toBe(5)
      expect(await catalog.db('reservations').where({ orderId: created.orderId })).toEqual([])
      await new Promise((resolve) => setTimeout(resolve, 300))
      expect(reservedFor(created.orderId)).toEqual([])
    }
  )

  it('never deadlocks: concurrent orders locking the same products in every order all reserve, none retried', async () => {
    const owner = seller()
    const products = await Promise.all(Array.from({ length: 4 }, () => createProduct(owner, { stock: 1_000 })))
    const deadlocksOf = async () =>
      Number((await catalog.db.raw('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0].deadlocks)
    const deadlocksBefore = await deadlocksOf()
    const failedBefore = await counted('events_failed_total', 'order.created')
    // Each order takes two or three of the four products, listed in a shuffled order.
    const orders = Array.from({ length: 60 }, (_, i) => {
      const lines = [...products].sort(() => Math.random() - 0.5).slice(0, 2 + (i % 2))
      return order(
        owner.sellerId!,
        lines.map((product) => ({ productId: product.id, quantity: 1 }))
      )
    })
    await Promise.all(orders.map((created) => catalog.emit('order.created', created)))
    const outcomes = await Promise.all(orders.map((created) => outcomeOf(created.orderId)))

    expect(outcomes.every((event) => event.type === 'stock.reserved')).toBe(true)
    expect(await counted('events_failed_total', 'order.created')).toBe(failedBefore)
    expect(await deadlocksOf()).toBe(deadlocksBefore)
    const taken = orders.reduce((sum, created) => sum + created.lines.length, 0)
    const left = (await Promise.all(products.map((product) => stockOf(product.id)))).reduce((sum, stock) => sum + stock, 0)
    expect(left).toBe(4_000 - taken)
  })
})

describe('a seller’s stock change and a reservation committed in between', () => {
  const patch = (owner: ReturnType<typeof seller>, id: string, body: Record<string, unknown>) =>
    catalog.call('PATCH', `/products/${id}`, { as: owner, body })

  it('refuses an absolute stock read before the reservation (409 with the current version and stock) and keeps the reservation', async () => {
    const owner = seller()
    const product = await createProduct(owner, { stock: 10 })
    const { body: read } = await catalog.call('GET', `/products/${product.id}`, { as: owner })
    expect(read).toMatchObject({ stock: 10, version: 1 })

    const created = order(owner.sellerId!, [{ productId: product.id, quantity: 3 }])
    await catalog.emit('order.created', created)
    expect((await outcomeOf(created.orderId)).type).toBe('stock.reserved')

    const stale = await patch(owner, product.id, { stock: 15, version: read.version })
    expect(stale).toMatchObject({ status: 409, body: { name: 'Conflict', data: { version: 2, stock: 7 } } })
    expect(await stockOf(product.id)).toBe(7)

    const fresh = await patch(owner, product.id, { stock: 15, version: stale.body.data.version })
    expect(fresh).toMatchObject({ status: 200, body: { stock: 15, version: 3 } })
    const unconditional = await patch(owner, product.id, { stock: 20 })
    expect(unconditional.status).toBe(400)
    expect(unconditional.body.message).toBe('Invalid version: must have property version when property stock is present')
    // The version guards any change, not only the stock's.
    expect((await patch(owner, product.id, { price: 1, version: 2 })).status).toBe(409)
    expect(await catalog.db('products').where({ id: product.id }).first('stock', 'price', 'version')).toEqual({ stock: 15, price: 4_999, version: 3 })
  })

  it('adds a stockDelta to the stock as it is once a reservation holding the row has committed', async () => {
    const owner = seller()
    const product = await createProduct(owner, { stock: 10 })
    // A reservation in progress: the row locked and decremented as the handler does, not yet committed.
    const reserving = await catalog.db.transaction()
    await reserving('products').where('id', product.id).forUpdate().first('id')
    await reserving('products').where('id', product.id).decrement('stock', 4)

    const restocking = patch(owner, product.id, { stockDelta: 5 })
    await waitFor(
      async () =>
        (await catalog.db.raw(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows.length > 0,
      { what: 'the PATCH to wait for the reservation’s row lock' }
    )
    await reserving.commit()
    expect(await restocking).toMatchObject({ status: 200, body: { stock: 11 } })
    expect(await stockOf(product.id)).toBe(11)
  })

  it('refuses a stockDelta that takes more than there is (409 naming what is left), or comes with a stock (400)', async () => {
    const owner = seller()
    const product = await createProduct(owner, { stock: 2 })
    const tooMuch = await patch(owner, product.id, { stockDelta: -3 })
    expect(tooMuch).toMatchObject({ status: 409, body: { message: 'Not enough stock to take 3: 2 left', data: { stock: 2 } } })
    const both = await patch(owner, product.id, { stockDelta: 1, stock: 5, version: product.version })
    expect(both).toMatchObject({ status: 400, body: { message: 'Invalid stockDelta: cannot be sent with stock' } })
    expect(await catalog.db('products').where({ id: product.id }).first('stock', 'version')).toEqual({ stock: 2, version: 1 })
  })

  it('moves the version with reservations and their release, not with reviews', async () => {
    const { product, created } = await orderOfNew(5, 2)
    const versionOf = async () => (await catalog.db('products').where({ id: product.id }).first('version')).version
    expect(await versionOf()).toBe(2)
    await catalog.emit('order.cancelled', { ...orderRef(created), reason: 'timeout' })
    await catalog.eventsOf('stock.released', 1, (event) => event.data.orderId === created.orderId)
    expect(await versionOf()).toBe(3)
    await catalog.db('products').where({ id: product.id }).increment({ ratingCount: 1, ratingQualitySum: 5, ratingValueSum: 5, ratingDeliverySum: 5 })
    expect(await versionOf()).toBe(3)
  })
})

describe('reservations as HOT updates', () => {
  /** The products table's updates and HOT updates so far, once the statistics have caught up with `atLeast` updates. */
  const productUpdates = async (atLeast = 0) =>
    waitFor(
      async () => {
        const { rows } = await catalog.db.raw(`SELECT n_tup_upd AS updated, n_tup_hot_upd AS hot FROM pg_stat_user_tables WHERE relname = 'products'`)
        const counts = { updated: Number(rows[0].updated), hot: Number(rows[0].hot) }
        return counts.updated >= atLeast && counts
      },
      { what: `the statistics to count ${atLeast} updates of products`, timeoutMs: 20_000 }
    )

  it('takes stock without a new index entry while the product stays in stock: its row version is HOT', async () => {
    const owner = seller()
    const product = await createProduct(owner, { stock: 100 })
    const before = await productUpdates()
    for (let index = 0; index < 10; index++) {
      const created = order(owner.sellerId!, [{ productId: product.id, quantity: 1 }])
      await catalog.emit('order.created', created)
      expect((await outcomeOf(created.orderId)).type).toBe('stock.reserved')
    }
    const after = await productUpdates(before.updated + 10)
    // All but a page split's worth: none at all while stock was an indexed column.
    expect(after.hot - before.hot).toBeGreaterThanOrEqual(8)
    expect(await stockOf(product.id)).toBe(90)
  })

  it('finds a product in stock, and no longer once it sold out', async () => {
    const owner = seller()
    const product = await createProduct(owner, { stock: 1, title: `Last one ${randomUUID()}` })
    const inStock = async () =>
      (await catalog.call('GET', `/search?q=${encodeURIComponent(product.title)}&inStock=true`)).body.data.map((found: { id: string }) => found.id)
    expect(await inStock()).toEqual([product.id])
    const created = order(owner.sellerId!, [{ productId: product.id, quantity: 1 }])
    await catalog.emit('order.created', created)
    expect((await outcomeOf(created.orderId)).type).toBe('stock.reserved')
    expect(await inStock()).toEqual([])
  })
})
