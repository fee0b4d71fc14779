import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createMarketmeshClient,
  type Checkout,
  type CheckoutData,
  type Device,
  type MarketmeshClient,
  type Order,
  type Product,
  type User
} from '@marketmesh/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtpServer } from '@marketmesh/test-support/smtp'
import { ROOT, scrapedMetric, waitFor } from '@marketmesh/test-support'
import { createAdmin, meshEnvironment, MESH_SERVICES, operatorCommand, startMesh, type Mesh, type MeshService } from '@marketmesh/test-support/mesh'
import { AnswerChecker, type OpenApiPaths } from '@marketmesh/test-support/openapi'
import { loadBalancer, type AnswerInspector, type LoadBalancer } from './load-balancer'
import { nextOn, recordStream, type RecordedStream } from './streams'

const PASSWORD = 'correct horse battery staple'
// The escrow is released this long after delivery: a durable timer that must fire once, whatever the instances.
const ESCROW_RELEASE_AFTER = '2s'
const COMMISSION_PERCENT = 10
// Failed logins of one e-mail before user-service answers 429 (its default, set here for clarity).
const LOGIN_FAILURES_ALLOWED = 5

const SHOPS = [
  {
    owner: 'Olga Oakley',
    shopName: 'Oak & Iron',
    products: [
      { title: 'Oak side table', description: 'Solid oak, oiled', price: 12_500, stock: 5 },
      { title: 'Iron candle holder', description: 'Hand forged', price: 2_900, stock: 20 }
    ]
  },
  {
    owner: 'Wanda Weaver',
    shopName: 'Woven Goods',
    products: [
      { title: 'Oak laundry basket', description: 'Woven on an oak frame', price: 4_500, stock: 8 },
      { title: 'Linen throw', description: 'Stonewashed linen', price: 6_900, stock: 10 }
    ]
  }
]
const BUYER_NAME = 'Bea Buyer'
const SHIPPING_ADDRESS = { name: BUYER_NAME, line1: 'Main Street 1', city: 'Utrecht', postalCode: '3511 AB', country: 'NL' }

const euros = (minor: number) => `€${(minor / 100).toFixed(2)}`
/** For waitFor: an answer refused with `code` means not yet; any other error fails the test. */
const notYetIf = (code: number) => (error: { code?: number }) => {
  if (error.code === code) return undefined
  throw error
}

interface Party {
  client: MarketmeshClient
  balancer: LoadBalancer
}
interface Account extends Party {
  user: User
  email: string
}
interface Shop extends Account {
  device: Device
  products: Product[]
  printer: Party
  stream: RecordedStream
  printerStream: RecordedStream
  order: Order
}

/**
 * The marketplace journey, end to end, through @marketmesh/client and SSE only: sellers open shops
 * with printers, a buyer checks out of both, pays, the printers print, mails go out, the orders
 * ship, arrive and pay the sellers out, the buyer reviews, an admin announces. With `instances`
 * processes of each service, every client goes through a round-robin load balancer.
 */
const journey = (instances: number) => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>
  let mesh: Mesh
  const balancers: LoadBalancer[] = []
  const streams: RecordedStream[] = []
  const run = randomUUID().slice(0, 8)
  const emailOf = (name: string) => `${name.split(' ')[0].toLowerCase()}-${run}@example.com`

  // Every HTTP answer of the journey, checked against the OpenAPI document its service serves.
  const checkers = {} as Record<MeshService, AnswerChecker>
  const answerProblems: string[] = []
  let answersChecked = 0
  const checkAnswer: AnswerInspector = async (service, { method, path, query }, response) => {
    const contentType = response.headers.get('content-type') ?? ''
    const body = contentType.startsWith('application/json') ? await response.clone().json() : undefined
    answerProblems.push(...checkers[service].check({ method, path, query, status: response.status, contentType, body }))
    answersChecked++
  }

  const party = (options: { token?: string } = {}): Party => {
    // Each client starts at another instance, so that the clients spread over them.
    const balancer = loadBalancer(mesh, balancers.length, checkAnswer)
    balancers.push(balancer)
    return { client: createMarketmeshClient({ urls: mesh.urls, fetch: balancer.fetch, ...options }), balancer }
  }
  const signIn = async (email: string): Promise<Account> => {
    const account = party()
    const { user } = await account.client.login(email, PASSWORD)
    return { ...account, user, email }
  }
  const open = async (client: MarketmeshClient, lastEventId?: string) => {
    const stream = await recordStream(client, { lastEventId })
    streams.push(stream)
    return stream
  }
  const mailTo = (email: string) =>
    smtp.received
      .filter((mail) => mail.to === email)
      .map((mail) => mail.subject)
      .sort()

  beforeAll(async () => {
    smtp = await startSmtpServer()
    mesh = await startMesh(
      meshEnvironment(`e2e${instances}`, {
        envOf: {
          user: { LOGIN_RATE_LIMIT_PER_EMAIL: String(LOGIN_FAILURES_ALLOWED) },
          order: { ESCROW_RELEASE_AFTER, COMMISSION_PERCENT: String(COMMISSION_PERCENT) },
          notify: { SMTP_URL: smtp.url }
        }
      }),
      { instances }
    )
    await createAdmin(mesh.env.user, { email: emailOf('Root Admin'), name: 'Root Admin', password: PASSWORD })
    for (const service of MESH_SERVICES)
      checkers[service] = new AnswerChecker((await (await fetch(`${mesh.urls[service]}/openapi.json`)).json()) as OpenApiPaths)
  }, 240_000)

  afterAll(async () => {
    for (const stream of streams) stream.close()
    await mesh?.stop()
    await smtp?.close()
  }, 120_000)

  let shops: Shop[]
  // The buyer's stream, and the one its app resumes with after a while in the background.
  let buyer: Account & { stream: RecordedStream; resumed: RecordedStream }
  let admin: Account & { stream: RecordedStream }
  let checkout: Checkout

  it('two sellers register, each adds a printer and products; the printers come online over SSE', async () => {
    shops = await Promise.all(
      SHOPS.map(async ({ owner, shopName, products }) => {
        const registered = await party().client.users.create({ email: emailOf(owner), password: PASSWORD, name: owner, role: 'seller', shopName })
        expect(registered).toMatchObject({ email: emailOf(owner), role: 'seller', shopName, status: 'active' })
        expect(registered).not.toHaveProperty('password')
        const seller = await signIn(emailOf(owner))
        expect(seller.user.id).toBe(registered.id)

        // Where the shop is paid out: the test provider's account is enabled at once.
        expect(await seller.client.payoutAccounts.create({ provider: 'test', returnUrl: 'https://shop.example/payouts' })).toMatchObject({
          provider: 'test',
          status: 'enabled'
        })
        const device = await seller.client.devices.create({ name: `${shopName} packing desk` })
        expect(device).toMatchObject({ sellerId: seller.user.id, name: `${shopName} packing desk`, revokedAt: null })
        expect(device.token).toMatch(/^mmdev_/)
        const made: Product[] = []
        for (const product of products) made.push(await seller.client.products.create({ ...product, currency: 'EUR' }))
        made.forEach((product, index) =>
          expect(product).toMatchObject({ ...products[index], sellerId: seller.user.id, shopName, status: 'active', ratingCount: 0, rating: null })
        )

        // The printer is an appliance with the device token; notify-service takes it once it has heard of the device.
        const printer = party({ token: device.token })
        await waitFor(() => printer.client.printJobs.find().then(() => true, notYetIf(401)), {
          what: 'notify-service to know the device',
          timeoutMs: 30_000
        })
        const [stream, printerStream] = await Promise.all([open(seller.client), open(printer.client)])
        // The order comes with the checkout.
        return { ...seller, device, products: made, printer, stream, printerStream, order: undefined as unknown as Order }
      })
    )
    for (const shop of shops) {
      const printers = await waitFor(
        async () => {
          const { data } = await shop.client.printers.find()
          return data.length > 0 && data.every((printer) => printer.online) && data
        },
        { what: 'the printer to show online', timeoutMs: 30_000 }
      )
      expect(printers).toEqual([expect.objectContaining({ id: shop.device.id, name: shop.device.name, online: true, transport: 'sse' })])
    }
  })

  it('a buyer finds products of both shops and checks them out in one checkout, made once for its Idempotency-Key', async () => {
    await party().client.users.create({ email: emailOf(BUYER_NAME), password: PASSWORD, name: BUYER_NAME, role: 'buyer' })
    const signedIn = await signIn(emailOf(BUYER_NAME))
    buyer = { ...signedIn, stream: await open(signedIn.client), resumed: undefined as unknown as RecordedStream }
    const adminAccount = await signIn(emailOf('Root Admin'))
    expect(adminAccount.user.role).toBe('admin')
    admin = { ...adminAccount, stream: await open(adminAccount.client) }

    const found = await buyer.client.search.find({ query: { q: 'oak', sort: 'price' } })
    const oak = [shops[1].products[0], shops[0].products[0]]
    expect(found.total).toBe(2)
    expect(found.data.map((product) => product.id)).toEqual(oak.map((product) => product.id))
    expect(found.facets.priceRanges.reduce((sum, range) => sum + range.count, 0)).toBe(2)

    const order: CheckoutData = {
      items: [
        { productId: shops[0].products[0].id, quantity: 2 },
        { productId: shops[1].products[0].id, quantity: 1 }
      ],
      shippingAddress: SHIPPING_ADDRESS,
      payment: { provider: 'test', token: 'tok_ok' }
    }
    const idempotencyKey = randomUUID()
    // order-service learns the products from product.created: until then it refuses them (400), storing nothing for the key.
    checkout = await waitFor(
      () =>
        buyer.client.checkouts.create(order, { idempotencyKey }).catch((error): undefined => {
          if (!/no product/.test(error.message)) throw error
        }),
      { what: 'order-service to sell the products', timeoutMs: 30_000, intervalMs: 250 }
    )
    expect(checkout.status).toBe('pending')
    expect(checkout.orders).toHaveLength(2)
    expect(Object.fromEntries(checkout.orders.map((placed) => [placed.sellerId, placed.total]))).toEqual({
      [shops[0].user.id]: 2 * SHOPS[0].products[0].price,
      [shops[1].user.id]: SHOPS[1].products[0].price
    })
    for (const placed of checkout.orders) expect(placed).toMatchObject({ status: 'pending', currency: 'EUR' })
    // One payment for both shops' orders: their total authorized once.
    expect(checkout.payment).toMatchObject({ provider: 'test', amount: 2 * SHOPS[0].products[0].price + SHOPS[1].products[0].price, currency: 'EUR' })
    expect(['authorized', 'captured']).toContain(checkout.payment.status)

    // The same request again (a retry after a lost answer, on whichever instance): the stored checkout, no second one.
    expect(await buyer.client.checkouts.create(order, { idempotencyKey })).toEqual(checkout)
    await expect(buyer.client.checkouts.create({ ...order, items: order.items.slice(0, 1) }, { idempotencyKey })).rejects.toMatchObject({ code: 422 })
    expect((await buyer.client.orders.find()).total).toBe(2)
  })

  it('the orders are paid with the test provider (tok_ok): their totals are held in escrow and the stock is taken', async () => {
    const paid = await waitFor(
      async () => {
        const { data } = await buyer.client.orders.find({ query: { checkoutId: checkout.id } })
        return data.length === 2 && data.every((order) => order.status === 'paid') && data
      },
      { what: 'both orders to be paid', timeoutMs: 60_000, intervalMs: 250 }
    )
    for (const shop of shops) {
      shop.order = paid.find((order) => order.sellerId === shop.user.id)!
      expect(shop.order.timeline.map(({ from, to }) => [from, to])).toEqual([
        [null, 'pending'],
        ['pending', 'paid']
      ])
      expect(shop.order).toMatchObject({ buyerName: BUYER_NAME, shopName: shop.user.shopName, currency: 'EUR' })
      // The seller sees the order too, with the held money in their ledger.
      expect((await shop.client.orders.get(shop.order.id)).status).toBe('paid')
      expect((await shop.client.ledger.find()).balances).toEqual([{ currency: 'EUR', held: shop.order.total, available: 0, paidOut: 0 }])
    }
    expect(shops[0].order.lines).toEqual([{ productId: shops[0].products[0].id, title: 'Oak side table', quantity: 2, unitPrice: 12_500 }])
    expect((await buyer.client.products.get(shops[0].products[0].id)).stock).toBe(SHOPS[0].products[0].stock - 2)
    expect((await buyer.client.products.get(shops[1].products[0].id)).stock).toBe(SHOPS[1].products[0].stock - 1)
    const settled = await buyer.client.checkouts.get(checkout.id)
    expect(settled.status).toBe('settled')
    // Captured once, for both orders.
    expect(settled.payment).toMatchObject({
      status: 'captured',
      amount: 2 * SHOPS[0].products[0].price + SHOPS[1].products[0].price,
      captured: 2 * SHOPS[0].products[0].price + SHOPS[1].products[0].price,
      refunded: 0
    })
  })

  it("each shop's printer gets its order's print job over SSE and acknowledges it: printing, then printed", async () => {
    for (const shop of shops) {
      const job = await nextOn(shop.printerStream, 'print.job', (data) => data.orderId === shop.order.id, `the print job of ${shop.user.shopName}`)
      expect(job).toMatchObject({
        copy: false,
        receipt: {
          shopName: shop.user.shopName,
          orderId: shop.order.id,
          buyerName: BUYER_NAME,
          shippingAddress: SHIPPING_ADDRESS,
          total: shop.order.total,
          currency: 'EUR',
          lines: shop.order.lines.map(({ title, quantity, unitPrice }) => ({ title, quantity, unitPrice, total: quantity * unitPrice }))
        }
      })
      expect(await shop.printer.client.printJobs.patch(job.jobId, { status: 'printing' })).toMatchObject({ status: 'printing' })
      expect(await shop.printer.client.printJobs.patch(job.jobId, { status: 'printed' })).toMatchObject({ status: 'printed' })

      // The seller follows the job on their stream, and finds one original job for the order, printed.
      await nextOn(shop.stream, 'print.job.updated', (data) => data.jobId === job.jobId && data.status === 'printed')
      expect(shop.stream.ofType('print.job.updated').filter((data) => data.jobId === job.jobId)).toEqual([
        expect.objectContaining({ status: 'printing', deviceId: shop.device.id, transport: 'sse' }),
        expect.objectContaining({ status: 'printed', deviceId: shop.device.id, transport: 'sse' })
      ])
      const jobs = await shop.client.printJobs.find()
      expect(jobs.data).toEqual([expect.objectContaining({ id: job.jobId, orderId: shop.order.id, status: 'printed', copy: false })])
    }
    // A printer gets its own shop's jobs only.
    for (const [index, shop] of shops.entries()) {
      expect(shop.printerStream.ofType('print.job').map((job) => job.orderId)).toEqual([shop.order.id])
      expect(shop.printerStream.ofType('order.paid')).toEqual([])
      expect(shops[1 - index].printerStream.ofType('print.job').map((job) => job.orderId)).not.toContain(shop.order.id)
    }
  })

  it("the buyer's stream and mailbox get the confirmations; each seller gets a new-order mail", async () => {
    for (const shop of shops) {
      await nextOn(buyer.stream, 'order.created', (data) => data.orderId === shop.order.id)
      const paid = await nextOn(buyer.stream, 'order.paid', (data) => data.orderId === shop.order.id)
      expect(paid).toMatchObject({
        checkoutId: checkout.id,
        total: shop.order.total,
        shopName: shop.user.shopName,
        shippingAddress: SHIPPING_ADDRESS
      })
      expect(paid.lines).toEqual(shop.order.lines)
    }
    // Each seller hears of their shop's order only; the admin of both.
    for (const shop of shops) {
      expect(shop.stream.ofType('order.paid').map((data) => data.orderId)).toEqual([shop.order.id])
      await nextOn(admin.stream, 'order.paid', (data) => data.orderId === shop.order.id, "the order on the admin's stream")
    }

    const confirmations = shops.map((shop) => `Your order from ${shop.user.shopName} is confirmed`)
    await waitFor(() => confirmations.every((subject) => mailTo(buyer.email).includes(subject)), { what: "the buyer's confirmations" })
    const confirmation = smtp.received.find((mail) => mail.subject === confirmations[0])!
    expect(confirmation.text).toContain('2 × Oak side table')
    expect(confirmation.text).toContain(SHIPPING_ADDRESS.line1)
    for (const shop of shops) {
      const notice = `New order ${shop.order.id}: ${euros(shop.order.total)}`
      await waitFor(() => mailTo(shop.email).includes(notice), { what: `the new-order mail to ${shop.user.shopName}` })
    }
  })

  it('the sellers ship, the buyer confirms delivery, the escrow goes to the sellers less commission, and a verified review moves the rating', async () => {
    const [oak] = shops
    const reviewed = oak.products[0]
    const review = {
      productId: reviewed.id,
      orderId: oak.order.id,
      ratings: { quality: 5, value: 4, delivery: 5 },
      comment: 'Sturdy and well packed'
    }
    // Not delivered yet: no review.
    await expect(buyer.client.reviews.create(review)).rejects.toMatchObject({ code: 403 })

    // The buyer's app goes to the background while the orders ship, and resumes (on whichever instance) where it stopped.
    buyer.stream.close()
    const resumeAfter = buyer.stream.stream.lastEventId
    for (const shop of shops) {
      const shipped = await shop.client.orders.patch(shop.order.id, { status: 'shipped', trackingNumber: `TRACK-${shop.order.id.slice(0, 8)}` })
      expect(shipped).toMatchObject({ status: 'shipped', trackingNumber: `TRACK-${shop.order.id.slice(0, 8)}` })
    }
    const resumed = (buyer.resumed = await open(buyer.client, resumeAfter))
    for (const shop of shops) await nextOn(resumed, 'order.shipped', (data) => data.orderId === shop.order.id)
    expect(resumed.ids()[0]).toBeGreaterThan(Number(resumeAfter))
    // With two instances, the app came back on the other one.
    expect(buyer.balancer.instancesThatServed('notify', '/stream').size).toBe(instances)

    for (const shop of shops) {
      expect(await buyer.client.orders.patch(shop.order.id, { status: 'delivered' })).toMatchObject({ status: 'delivered' })
      // A second confirmation is refused by name, on any instance.
      await expect(buyer.client.orders.patch(shop.order.id, { status: 'delivered' })).rejects.toMatchObject({
        code: 409,
        message: expect.stringContaining('is delivered')
      })
    }
    for (const shop of shops) {
      const completed = await nextOn(resumed, 'order.completed', (data) => data.orderId === shop.order.id)
      const commission = Math.round((shop.order.total * COMMISSION_PERCENT) / 100)
      expect(completed).toEqual(expect.objectContaining({ payout: shop.order.total - commission, commission, currency: 'EUR' }))
      const order = await shop.client.orders.get(shop.order.id)
      expect(order.status).toBe('completed')
      expect(order.timeline.slice(-3).map(({ from, to, by }) => [from, to, by])).toEqual([
        ['paid', 'shipped', shop.user.id],
        ['shipped', 'delivered', buyer.user.id],
        ['delivered', 'completed', 'system']
      ])
      // The net goes to the seller's payout account, once.
      const payout = await waitFor(async () => (await shop.client.payouts.find({ query: { orderId: shop.order.id, status: 'paid' } })).data[0], {
        what: 'the seller paid out'
      })
      expect(payout).toMatchObject({ sellerId: shop.user.id, amount: shop.order.total - commission, currency: 'EUR', status: 'paid' })
      expect((await shop.client.payouts.find({ query: { orderId: shop.order.id } })).total).toBe(1)
      expect((await shop.client.ledger.find()).balances).toEqual([{ currency: 'EUR', held: 0, available: 0, paidOut: shop.order.total - commission }])
    }
    const books = await admin.client.ledger.find()
    expect(books.trialBalance).toEqual([{ currency: 'EUR', balance: 0 }])
    const commissions = shops.reduce((sum, shop) => sum + Math.round((shop.order.total * COMMISSION_PERCENT) / 100), 0)
    expect(books.accounts).toContainEqual({ account: 'commission', currency: 'EUR', balance: -commissions })

    // The catalog learns of the delivery from order.delivered: from then on the buyer may review, once.
    const written = await waitFor(() => buyer.client.reviews.create(review).catch(notYetIf(403)), {
      what: 'the catalog to take the review of a delivered purchase'
    })
    expect(written).toMatchObject({ ...review, buyerId: buyer.user.id, displayName: 'Bea B.' })
    await expect(buyer.client.reviews.create(review)).rejects.toMatchObject({ code: 409 })
    // Verified, and private about who bought it: others see the review without its order and buyer.
    const { data: seen } = await oak.client.reviews.find({ query: { productId: reviewed.id } })
    expect(seen).toEqual([expect.objectContaining({ id: written.id, displayName: 'Bea B.', ratings: review.ratings })])
    expect(seen[0]).not.toHaveProperty('orderId')
    expect(seen[0]).not.toHaveProperty('buyerId')
    expect(await buyer.client.products.get(reviewed.id)).toMatchObject({
      ratingCount: 1,
      rating: 4.67,
      ratingQuality: 5,
      ratingValue: 4,
      ratingDelivery: 5
    })
    const byRating = await buyer.client.search.find({ query: { q: 'oak', sort: 'rating' } })
    expect(byRating.data[0]).toMatchObject({ id: reviewed.id, rating: 4.67 })

    for (const shop of shops) {
      const notice = `Your order ${shop.order.id} is on its way`
      await waitFor(() => mailTo(buyer.email).includes(notice), { what: 'the shipping notice' })
    }
  })

  it('an admin announcement reaches every open stream, the printers too, once', async () => {
    const announcement = await admin.client.announcements.create({ message: 'Maintenance tonight at 22:00', level: 'warning' })
    expect(announcement).toMatchObject({ message: 'Maintenance tonight at 22:00', level: 'warning', endsAt: null })
    const everyOpenStream = [buyer.resumed, admin.stream, ...shops.flatMap((shop) => [shop.stream, shop.printerStream])]
    for (const stream of everyOpenStream) {
      await nextOn(stream, 'announcement', (data) => data.id === announcement.id)
      const received = stream.events.filter((event) => event.type === 'announcement' && event.data.id === announcement.id)
      expect(received).toHaveLength(1)
      expect(received[0].id).toEqual(expect.any(Number))
    }
    // The same log entry everywhere: one id.
    const ids = new Set(everyOpenStream.map((stream) => stream.events.find((event) => event.type === 'announcement')!.id))
    expect(ids.size).toBe(1)
    expect((await buyer.client.announcements.find()).data.map((current) => current.id)).toEqual([announcement.id])
  })

  it('the buyer asks about an order, the seller answers live; each sees the other’s message on their stream once', async () => {
    const [oak, woven] = shops
    const asked = await buyer.client.conversations.create({ orderId: oak.order.id, body: 'Could you gift-wrap the table?\nThanks!' })
    expect(asked).toMatchObject({ subject: { type: 'order', id: oak.order.id }, seller: { id: oak.user.id, shopName: oak.user.shopName } })
    const question = await nextOn(oak.stream, 'message', (data) => data.message.id === asked.lastMessage!.id, "the question on the seller's stream")
    expect(question.message.body).toBe('Could you gift-wrap the table?\nThanks!')
    const [unread] = (await oak.client.conversations.find({ query: { unread: true } })).data
    expect(unread).toMatchObject({ id: asked.id, unread: 1, buyer: { id: buyer.user.id, name: BUYER_NAME } })

    const answer = await oak.client.conversations.messages.create(asked.id, { body: 'Gladly, at no charge.' })
    const answered = await nextOn(buyer.resumed, 'message', (data) => data.message.id === answer.id, "the answer on the buyer's stream")
    expect(answered).toMatchObject({ conversationId: asked.id, message: { senderRole: 'seller', body: 'Gladly, at no charge.' } })
    expect((await buyer.client.conversations.get(asked.id)).unread).toBe(1)
    expect((await buyer.client.conversations.patch(asked.id, { readUpTo: answer.id })).unread).toBe(0)
    // Another shop neither sees it nor may post to it.
    expect((await woven.client.conversations.find()).total).toBe(0)
    await expect(woven.client.conversations.messages.create(asked.id, { body: 'Hi' })).rejects.toMatchObject({ code: 404 })
    expect(woven.stream.ofType('message')).toEqual([])
  })

  it(`${LOGIN_FAILURES_ALLOWED} failed logins, on whichever instances, lock the e-mail on every instance (429), even to the right password`, async () => {
    const [{ email }] = shops
    const guesser = party()
    for (let attempt = 1; attempt <= LOGIN_FAILURES_ALLOWED; attempt++) {
      await expect(guesser.client.login(email, `wrong guess ${attempt}`)).rejects.toMatchObject({ code: 401 })
    }
    for (let attempt = 1; attempt <= instances; attempt++) {
      await expect(guesser.client.login(email, PASSWORD)).rejects.toMatchObject({ code: 429 })
    }
    expect(guesser.balancer.instancesThatServed('user', '/authentication').size).toBe(instances)
    const locked = guesser.balancer.served.filter((entry) => entry.path === '/authentication').slice(-instances)
    expect(new Set(locked.map((entry) => entry.instance)).size).toBe(instances)
  })

  it('everything happened once: one print job and one mail of each kind per order, no stream message twice', async () => {
    const buyerStreams = [buyer.stream, buyer.resumed]
    const buyerEvents = buyerStreams.flatMap((stream) => stream.events)
    for (const type of ['order.created', 'order.paid', 'order.shipped', 'order.delivered', 'order.completed'] as const) {
      const orderIds = buyerEvents.filter((event) => event.type === type).map((event) => (event.data as { orderId: string }).orderId)
      expect(orderIds.sort(), type).toEqual(shops.map((shop) => shop.order.id).sort())
    }
    for (const stream of streams) {
      const ids = stream.ids()
      expect(new Set(ids).size).toBe(ids.length)
      expect([...ids].sort((a, b) => a - b)).toEqual(ids)
    }
    const buyerIds = buyerStreams.flatMap((stream) => stream.ids())
    expect(new Set(buyerIds).size).toBe(buyerIds.length)

    for (const shop of shops) {
      expect(shop.printerStream.ofType('print.job')).toHaveLength(1)
      expect((await shop.client.printJobs.find()).total).toBe(1)
      expect(mailTo(shop.email)).toEqual(
        [`New order ${shop.order.id}: ${euros(shop.order.total)}`, `Welcome to marketmesh, ${shop.user.name}`].sort()
      )
    }
    expect(mailTo(buyer.email)).toEqual(
      [
        `Welcome to marketmesh, ${BUYER_NAME}`,
        ...shops.map((shop) => `Your order from ${shop.user.shopName} is confirmed`),
        ...shops.map((shop) => `Your order ${shop.order.id} is on its way`)
      ].sort()
    )
    expect(new Set(smtp.received.map((mail) => mail.messageId)).size).toBe(smtp.received.length)

    // Competing consumers: each order.paid was handled by one notify-service instance, and no instance got one another had handled.
    const notify = mesh.instances.notify.map((instance) => instance.opsUrl)
    const handled = await Promise.all(notify.map((url) => scrapedMetric(url, 'events_consumed_total', { type: 'order.paid' })))
    const skipped = await Promise.all(notify.map((url) => scrapedMetric(url, 'events_duplicates_total', { type: 'order.paid' })))
    expect(handled.reduce((sum, count) => sum + count, 0)).toBe(shops.length)
    expect(skipped).toEqual(notify.map(() => 0))

    // The load balancer did spread the work: every instance of every service answered, streams too.
    for (const service of MESH_SERVICES) {
      const served = new Set(balancers.flatMap((balancer) => [...balancer.instancesThatServed(service)]))
      expect(served.size, service).toBe(instances)
    }
    const streamed = new Set(balancers.flatMap((balancer) => [...balancer.instancesThatServed('notify', '/stream')]))
    expect(streamed.size).toBe(instances)
  })

  it("an operator follows one order's whole life with `marketmesh order <id>`", async () => {
    const [shop] = shops
    const { code, stdout } = await operatorCommand(mesh, ['order', shop.order.id, '--json'])
    expect(code).toBe(0)
    const life = JSON.parse(stdout)
    expect(life.order).toMatchObject({ id: shop.order.id, status: 'completed', sellerId: shop.order.sellerId })
    const steps = life.timeline.map(({ to }: { to: string }) => to)
    expect(steps).toEqual(expect.arrayContaining(['pending', 'paid', 'shipped', 'delivered', 'completed']))
    expect(steps.at(-1)).toBe('completed')
    const handled = (type: string) =>
      life.events.find((event: { type: string }) => event.type === type)?.handledBy.map(({ consumer }: { consumer: string }) => consumer)
    expect(handled('order.created')).toEqual(expect.arrayContaining(['catalog-service', 'notify-service']))
    expect(handled('stock.reserved')).toEqual(['order-service'])
    expect(handled('order.paid')).toEqual(expect.arrayContaining(['notify-service']))
    // The events of the four outboxes as one timeline, in the order they were written.
    const written = life.events.map(({ createdAt }: { createdAt: string }) => Date.parse(createdAt))
    expect(written).toEqual([...written].sort((a, b) => a - b))
    // The effects keyed by the checkout (the payment) and by the order's payout (its transfer) too, not only those naming the order.
    expect(life.sideEffects).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ service: 'order-service', kind: 'payment-authorize', status: 'done' }),
        expect.objectContaining({ service: 'order-service', kind: 'payment-capture', status: 'done' }),
        expect.objectContaining({ service: 'order-service', kind: 'order-release-escrow', status: 'done' }),
        expect.objectContaining({ service: 'order-service', kind: 'payout-transfer', key: life.payouts[0].id, status: 'done' })
      ])
    )
    expect(life.payment).toMatchObject({ checkoutId: checkout.id, status: 'captured', captured: checkout.payment.amount })
    expect(life.payouts).toEqual([
      expect.objectContaining({ status: 'paid', amount: shop.order.total - Math.round((shop.order.total * COMMISSION_PERCENT) / 100) })
    ])
    expect(life.printJobs).toEqual([expect.objectContaining({ status: 'printed', deviceId: shop.device.id, copy: false })])
    expect(life.mails.map(({ status }: { status: string }) => status)).toEqual(life.mails.map(() => 'sent'))
    expect(life.mails.length).toBeGreaterThanOrEqual(3)
    expect(life.deadLetters).toEqual([])

    const human = await operatorCommand(mesh, ['order', shop.order.id])
    expect(human.stdout).toMatch(new RegExp(`^order ${shop.order.id}: completed`))
    for (const section of ['timeline', 'events', 'side effects', 'payment', 'refunds', 'payouts', 'print jobs', 'mails', 'dead letters'])
      expect(human.stdout).toMatch(new RegExp(`^${section}$`, 'm'))
    expect(await operatorCommand(mesh, ['order', randomUUID()])).toMatchObject({ code: 1, stdout: expect.stringContaining('knows no order') })
  })

  it('each service serves its checked-in OpenAPI document, and every answer of the journey is as it says', async () => {
    for (const service of MESH_SERVICES) {
      const served = await (await fetch(`${mesh.urls[service]}/openapi.json`)).json()
      expect(served, service).toEqual(JSON.parse(readFileSync(join(ROOT, 'docs', 'openapi', `${service}-service.json`), 'utf8')))
    }
    expect(answerProblems).toEqual([])
    expect(answersChecked).toBeGreaterThan(50)
  })
}

describe.each([
  { instances: 1, variant: 'one process of each service' },
  { instances: 2, variant: 'two processes of each, load-balanced' }
])(
  'the marketplace journey through @marketmesh/client, $variant',
  // Steps wait up to a minute for what a loaded machine may take long to do.
  { timeout: 120_000 },
  ({ instances }) => journey(instances)
)
