import { randomUUID } from 'node:crypto'
import { createTestBus, POSTGRES, uniqueName, waitFor } from '@marketmesh/test-support'
import { createAdmin } from '@marketmesh/test-support/mesh'
import { bearer } from '@marketmesh/test-support/tokens'
import type { Stack } from './stack'

const PASSWORD = 'correct horse battery staple'

/** A record as a service answers its creation: its id and the rest of its fields. */
type Made = Record<string, unknown> & { id: string }

/** JSON over HTTP for seeding, failing loudly: the fuzz needs every one of these to succeed. */
const call = async <Answer = Made>(
  url: string,
  method: string,
  path: string,
  { body, authorization }: { body?: unknown; authorization?: string } = {}
): Promise<Answer> => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(authorization ? { Authorization: authorization } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const answer = await response.json()
  if (!response.ok) throw new Error(`seeding: ${method} ${path} answered ${response.status}: ${JSON.stringify(answer)}`)
  return answer as Answer
}

/**
 * What the fuzz needs to reach past the doors: accounts of every role (the admin made the way an
 * operator does, with the CLI), a device, categories, products, a delivered purchase and its review.
 * Returns the credentials by kind, the ids per service path and the fields seen per path.
 */
export const seed = async (stack: Stack) => {
  const users = stack.byName['user-service']
  const catalog = stack.byName['catalog-service']
  const login = async (email: string) =>
    call<{ accessToken: string; refreshToken: string; user: Made }>(users.url, 'POST', '/authentication', {
      body: { strategy: 'local', email, password: PASSWORD }
    })
  // The bodies that made the records: valid input that the fuzz mutates.
  const bodies: Record<string, Array<Record<string, unknown>>> = {}
  const made = async (url: string, path: string, body: Record<string, unknown>, authorization?: string) => {
    ;(bodies[path] ??= []).push(body)
    return call(url, 'POST', `/${path}`, { body, authorization })
  }
  const register = async (role: 'buyer' | 'seller', name: string) => {
    const email = `${randomUUID()}@example.com`
    await made(users.url, 'users', { email, password: PASSWORD, name, role, ...(role === 'seller' ? { shopName: `${name}'s shop` } : {}) })
    ;(bodies.authentication ??= []).push({ strategy: 'local', email, password: PASSWORD })
    return login(email)
  }

  const [buyer, otherBuyer, seller] = await Promise.all([
    register('buyer', 'Ada Lovelace'),
    register('buyer', 'Grace Hopper'),
    register('seller', 'Mary')
  ])
  const adminEmail = `${randomUUID()}@example.com`
  await createAdmin(users.env, { email: adminEmail, name: 'Root', password: PASSWORD })
  const admin = await login(adminEmail)
  const as = (session: { accessToken: string }) => `Bearer ${session.accessToken}`

  ;(bodies.authentication ??= []).push({ strategy: 'refresh', refreshToken: otherBuyer.refreshToken })
  // Well-formed account requests; the tokens are no real ones (a real one is mailed), so they meet the 400 of a bad token.
  ;(bodies['password-resets'] ??= []).push({ email: buyer.user.email })
  ;(bodies['password-resets/confirm'] ??= []).push({ token: 'mmpr_not-a-mailed-token', password: PASSWORD })
  ;(bodies['email-verifications/confirm'] ??= []).push({ token: 'mmev_not-a-mailed-token' })

  const device = await made(users.url, 'devices', { name: 'Warehouse printer' }, as(seller))
  // The device credential's own device: its id is in no record, so the fuzz cannot revoke it, and
  // the probes wait until notify-service (which learns devices from events) takes its token.
  const printer = await call<{ token: string }>(users.url, 'POST', '/devices', { body: { name: 'Probe printer' }, authorization: as(seller) })
  await waitFor(
    async () =>
      (await fetch(`${stack.byName['notify-service'].url}/print-jobs`, { headers: { Authorization: `Bearer ${printer.token}` } })).status === 200,
    { what: 'notify-service to know the device', timeoutMs: 20_000, intervalMs: 200 }
  )
  const category = await made(catalog.url, 'categories', { name: 'Lamps' }, as(admin))
  const subcategory = await made(catalog.url, 'categories', { name: 'Desk lamps', parentId: category.id }, as(admin))
  const lamp = {
    title: 'Walnut desk lamp',
    description: 'Warm light',
    price: 4_999,
    currency: 'EUR',
    stock: 50,
    categoryId: subcategory.id,
    attributes: { color: 'brass', watts: 40 }
  }
  const product = await made(catalog.url, 'products', lamp, as(seller))
  const variant = await made(
    catalog.url,
    'products',
    { parentId: product.id, price: 5_499, currency: 'EUR', stock: 5, attributes: { size: 'large' } },
    as(seller)
  )
  const archived = await made(catalog.url, 'products', { title: 'Old lamp', price: 100, currency: 'EUR', stock: 0, status: 'archived' }, as(seller))
  // Spares: the fuzz deletes what it finds, and reads of existing products should last the run.
  const spares = await Promise.all(
    ['Floor lamp', 'Pendant', 'Sconce', 'Lantern'].map((title, index) =>
      call(catalog.url, 'POST', '/products', { authorization: as(seller), body: { title, price: 1_000 * (index + 1), currency: 'EUR', stock: 3 } })
    )
  )
  // A product image through its three steps, as a seller's app uploads it.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
  const imagesPath = `/products/${product.id}/images`
  const ticket = await call<{ imageId: string; uploadUrl: string; headers: Record<string, string> }>(catalog.url, 'POST', imagesPath, {
    authorization: as(seller),
    body: { contentType: 'image/png', size: png.length, alt: 'The lamp' }
  })
  await fetch(new URL(ticket.uploadUrl, catalog.url), { method: 'PUT', headers: ticket.headers, body: png })
  const image = await call<{ id: string }>(catalog.url, 'POST', `${imagesPath}/${ticket.imageId}/complete`, { authorization: as(seller), body: {} })
  ;(bodies['products/:productId/images'] ??= []).push({ contentType: 'image/jpeg', size: 1_000, alt: 'Front' }, { position: 0, alt: 'Side' })
  ;(bodies.search ??= []).push({
    q: 'lamp',
    categoryId: category.id,
    minPrice: 100,
    maxPrice: 10_000,
    attributes: { color: 'brass' },
    inStock: true,
    sort: 'price'
  })

  // order-service delivers the order: the catalog learns the purchase from order.delivered.
  const busDatabase = `${POSTGRES}/${uniqueName('fuzz_bus')}`
  const { bus, db } = await createTestBus({ service: 'test-consumer', connection: busDatabase, prefix: stack.prefix })
  await bus.start()
  const orderId = randomUUID()
  await db.transaction((trx) =>
    bus.emit(trx, 'order.delivered', { orderId, buyerId: buyer.user.id, sellerId: seller.user.id, version: 4, productIds: [product.id, variant.id] })
  )
  const reviewBody = { productId: product.id, orderId, ratings: { quality: 5, value: 4, delivery: 3 }, comment: 'Lovely' }
  ;(bodies.reviews ??= []).push({ ...reviewBody, productId: variant.id })
  // order-service knows the products from product.created: a buyer checks out once it has them.
  const orders = stack.byName['order-service']
  const checkoutBody = {
    items: [{ productId: product.id, quantity: 1 }],
    shippingAddress: { name: 'Ada Lovelace', line1: '1 Analytical Row', city: 'London', postalCode: 'N1 1AA', country: 'GB' },
    payment: { provider: 'test', token: 'tok_ok' }
  }
  ;(bodies.checkouts ??= []).push(checkoutBody)
  const checkout = await waitFor(
    async () => {
      const response = await fetch(`${orders.url}/checkouts`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: as(buyer), 'Idempotency-Key': randomUUID() },
        body: JSON.stringify(checkoutBody)
      })
      return response.status === 201 && ((await response.json()) as { id: string; orders: Array<{ id: string }> })
    },
    { what: 'order-service to know the products', timeoutMs: 20_000, intervalMs: 200 }
  )
  ;(bodies.orders ??= []).push({ status: 'shipped', trackingNumber: 'TRACK-1' }, { status: 'cancelled' })
  ;(bodies.refunds ??= []).push({ orderId: checkout.orders[0].id, reason: 'damaged', amount: 100 })

  const review = await waitFor(
    async () => {
      const response = await fetch(`${catalog.url}/reviews`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: as(buyer) },
        body: JSON.stringify(reviewBody)
      })
      return response.status === 201 && ((await response.json()) as { id: string })
    },
    { what: 'the delivered purchase to reach the catalog', timeoutMs: 20_000, intervalMs: 200 }
  )
  await bus.stop()
  await db.destroy()

  // notify-service learns the order from order.*: then the buyer asks about it, and the seller answers.
  const notify = stack.byName['notify-service']
  const conversationBody = { orderId: checkout.orders[0].id, body: 'Is it\nin stock?' }
  ;(bodies.conversations ??= []).push(conversationBody, { productId: product.id, body: 'Which bulb?' })
  const conversation = await waitFor(
    async () => {
      const response = await fetch(`${notify.url}/conversations`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: as(buyer) },
        body: JSON.stringify(conversationBody)
      })
      return response.status === 201 && ((await response.json()) as Made & { lastMessage: Made })
    },
    { what: 'notify-service to know the order', timeoutMs: 20_000, intervalMs: 200 }
  )
  const messagesPath = 'conversations/:conversationId/messages'
  const answer = await made(notify.url, `conversations/${conversation.id}/messages`, { body: 'Yes.' }, as(seller))
  ;(bodies[messagesPath] ??= []).push({ body: 'Yes.' }, { hidden: true, reason: 'Spam' })
  ;(bodies.conversations ??= []).push({ readUpTo: answer.id })

  const credentials: Record<string, string | undefined> = {
    anonymous: undefined,
    buyer: as(buyer),
    otherBuyer: as(otherBuyer),
    seller: as(seller),
    admin: as(admin),
    device: `Bearer ${printer.token}`,
    // Well signed, for an account no service has heard of.
    stranger: bearer({ id: randomUUID(), role: 'buyer' }).Authorization,
    garbage: 'Bearer not-a-token',
    basic: 'Basic dXNlcjpwYXNz'
  }
  const records: Record<string, Array<Record<string, unknown>>> = {
    users: [buyer.user, otherBuyer.user, seller.user, admin.user],
    devices: [device],
    categories: [category, subcategory],
    products: [product, variant, archived, ...spares],
    'products/:productId/images': [image],
    reviews: [review],
    checkouts: [checkout],
    orders: checkout.orders,
    conversations: [conversation],
    [messagesPath]: [conversation.lastMessage, answer]
  }
  return {
    credentials,
    /** The author of the seeded review. */
    reviewAuthor: 'buyer',
    ids: Object.fromEntries(Object.entries(records).map(([path, list]) => [path, list.map((record) => String(record.id))])),
    fields: Object.fromEntries(Object.entries({ ...bodies, ...records }).map(([path, list]) => [path, [...new Set(list.flatMap(Object.keys))]])),
    examples: Object.fromEntries(Object.keys({ ...bodies, ...records }).map((path) => [path, [...(bodies[path] ?? []), ...(records[path] ?? [])]])),
    orderId,
    databases: [busDatabase]
  }
}

export type Seeded = Awaited<ReturnType<typeof seed>>
