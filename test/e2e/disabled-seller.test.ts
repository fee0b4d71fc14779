import { randomUUID } from 'node:crypto'
import { createMarketmeshClient, type CheckoutData, type Device, type MarketmeshClient, type Product, type User } from '@marketmesh/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { createAdmin, meshEnvironment, startMesh, type Mesh } from '@marketmesh/test-support/mesh'

const PASSWORD = 'correct horse battery staple'
const SHIPPING_ADDRESS = { name: 'Bea Buyer', line1: 'Main Street 1', city: 'Utrecht', postalCode: '3511 AB', country: 'NL' }

/** The outcome of a call through the client: its value, or the error's code. */
const outcome = <T>(call: Promise<T>): Promise<{ value?: T; error?: { code?: number; message: string }; code?: number }> =>
  call.then(
    (value) => ({ value, code: 200 }),
    (error: { code?: number; message: string }) => ({ error, code: error.code })
  )

/**
 * An admin disables a seller at user-service, and the other services close the shop as `user.updated`
 * reaches them: the shop's printer is refused on every transport and its open stream ends, its products
 * leave search and read as unavailable, a checkout with one is a 409. Re-enabled, all is back.
 */
describe('a disabled seller, across the four services', () => {
  let mesh: Mesh
  let admin: MarketmeshClient
  let seller: MarketmeshClient
  let sellerUser: User
  let buyer: MarketmeshClient
  let printer: MarketmeshClient
  let device: Device
  let product: Product
  const run = randomUUID().slice(0, 8)
  const emailOf = (name: string) => `${name}-${run}@example.com`

  const client = (options: { token?: string } = {}) => createMarketmeshClient({ urls: mesh.urls, ...options })
  const signedIn = async (name: string) => {
    const signing = client()
    const { user } = await signing.login(emailOf(name), PASSWORD)
    return { client: signing, user }
  }
  const poll = () =>
    fetch(`${mesh.urls.notify}/cloudprnt`, {
      method: 'POST',
      headers: { Authorization: `Basic ${Buffer.from(`${device.id}:${device.token}`).toString('base64')}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        status: '23 86 00 00 00 00 00 00 00',
        printerMAC: '00:11:62:1d:9a:b7',
        statusCode: '200%20OK',
        printingInProgress: false
      })
    }).then((response) => response.status)
  const found = async () => (await buyer.search.find({ query: { q: 'walnut' } })).data.map(({ id }) => id)
  const cart = (): CheckoutData => ({
    items: [{ productId: product.id, quantity: 1 }],
    shippingAddress: SHIPPING_ADDRESS,
    payment: { provider: 'test', token: 'tok_ok' }
  })
  const checkout = () => outcome(buyer.checkouts.create(cart(), { idempotencyKey: randomUUID() }))

  beforeAll(async () => {
    mesh = await startMesh(meshEnvironment('disabled_seller'))
    await createAdmin(mesh.env.user, { email: emailOf('root'), name: 'Root Admin', password: PASSWORD })
    admin = (await signedIn('root')).client
    await client().users.create({ email: emailOf('olga'), password: PASSWORD, name: 'Olga Oakley', role: 'seller', shopName: 'Walnut Works' })
    await client().users.create({ email: emailOf('bea'), password: PASSWORD, name: 'Bea Buyer', role: 'buyer' })
    ;({ client: seller, user: sellerUser } = await signedIn('olga'))
    buyer = (await signedIn('bea')).client
    device = await seller.devices.create({ name: 'Packing desk' })
    product = await seller.products.create({ title: 'Walnut bowl', description: 'Turned', price: 4_500, currency: 'EUR', stock: 10 })
    printer = client({ token: device.token })
    await waitFor(async () => (await outcome(printer.printJobs.find())).code === 200, {
      what: 'notify-service to know the device',
      timeoutMs: 30_000
    })
    await waitFor(async () => (await found()).includes(product.id), { what: 'the product in search' })
  }, 240_000)

  afterAll(async () => {
    await mesh?.stop()
  }, 120_000)

  it('closes the shop when the seller is disabled, and opens it again when re-enabled', async () => {
    const streamErrors: Array<number | undefined> = []
    let opened = 0
    const stream = printer.stream({ onEvent: () => {}, onOpen: () => opened++, onError: (error) => streamErrors.push(error.status) })
    await waitFor(() => opened === 1, { what: 'the printer’s stream open' })
    expect(await poll()).toBe(200)

    await admin.users.patch(sellerUser.id, { status: 'disabled' })
    // The stream ends at once, and its reconnection is refused.
    await waitFor(() => streamErrors.includes(401), { what: 'the printer’s stream ended and refused', timeoutMs: 30_000 })
    expect(opened).toBe(1)
    expect((await outcome(printer.printJobs.find())).code).toBe(401)
    expect(await poll()).toBe(401)
    await waitFor(async () => !(await found()).includes(product.id), { what: 'the product out of search' })
    expect(await buyer.products.get(product.id)).toMatchObject({ id: product.id, available: false })
    const refused = await waitFor(
      async () => {
        const attempt = await checkout()
        return attempt.code === 409 && attempt
      },
      { what: 'order-service to refuse the product' }
    )
    expect(refused.error!.message).toContain(product.id)
    expect((await buyer.orders.find()).total).toBe(0)

    await admin.users.patch(sellerUser.id, { status: 'active' })
    await waitFor(async () => (await outcome(printer.printJobs.find())).code === 200, { what: 'the printer let in again' })
    expect(await poll()).toBe(200)
    await waitFor(async () => (await found()).includes(product.id), { what: 'the product back in search' })
    expect(await buyer.products.get(product.id)).toMatchObject({ available: true })
    const bought = await waitFor(
      async () => {
        const attempt = await checkout()
        return attempt.code === 200 && attempt.value!
      },
      { what: 'the product sold again' }
    )
    await waitFor(async () => (await buyer.orders.find({ query: { checkoutId: bought.id, status: 'paid' } })).total === 1, {
      what: 'the order reserved and paid',
      timeoutMs: 30_000
    })
    stream.close()
  })
})
