import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp as createNotifyApp } from '../packages/notify-service/src/app'
import { checkoutBody, orderPaid, registeredDevice } from '@marketmesh/test-support/events'
import { openStream } from '@marketmesh/test-support/sse'
import { httpClient } from '@marketmesh/test-support/http'
import { cleanUp, isolatedEnvironment, ROOT, startServiceProcess, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { buyer, startServiceUnderTest, type ServiceUnderTest } from '@marketmesh/test-support/service-under-test'

// Debian's chromium (docs/testing.md: the tests need it); flags as this machine's closed network wants them.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

/** A PNG of oak-coloured stripes, `size` pixels square, written by hand (8-bit RGB, unfiltered rows). */
const stripedPng = (size: number) => {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const framing = Buffer.alloc(8)
    framing.writeUInt32BE(data.length, 0)
    framing.writeUInt32BE(crc32(body), 4)
    return Buffer.concat([framing.subarray(0, 4), body, framing.subarray(4)])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 2, 0, 0, 0], 8)
  const rows = Array.from({ length: size }, (_, y) =>
    Buffer.from([0, ...Array.from({ length: size }, (_, x) => (Math.floor((x + y / 3) / 8) % 2 ? [150, 100, 60] : [190, 140, 90])).flat()])
  )
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0))
  ])
}

describe('the live orders page (GET /live) in headless Chromium', () => {
  const usersEnvironment = isolatedEnvironment('live_users')
  let users: ServiceProcess
  let notify: ServiceUnderTest
  // catalog-service in a process of its own (one service's settings per process), its images in a folder
  // of the test's: the page shows the ordered products' first images from there.
  const mediaDirectory = mkdtempSync(join(tmpdir(), 'mm-live-media-'))
  const catalogEnvironment = {
    ...isolatedEnvironment('live_catalog'),
    AMQP_PREFIX: usersEnvironment.AMQP_PREFIX,
    MEDIA_DIRECTORY: mediaDirectory,
    CACHE: 'off'
  }
  let catalog: ServiceProcess
  let table: { productId: string; thumb: string }
  // order-service in a process of its own on user-service's broker prefix: its GET /ledger feeds the Earnings panel.
  const ordersEnvironment = { ...isolatedEnvironment('live_orders'), AMQP_PREFIX: usersEnvironment.AMQP_PREFIX }
  let orders: ServiceProcess
  let browser: Browser
  let page: Page
  let registered = 0
  const signUp = async (role: 'buyer' | 'seller') => {
    const email = `${role}${++registered}@example.com`
    const password = 'correct horse battery'
    const answer = await httpClient(users.url)('POST', '/users', {
      body: { email, password, name: `A ${role}`, role, ...(role === 'seller' && { shopName: 'Oak & Iron' }) }
    })
    expect(answer.status).toBe(201)
    return { user: answer.body, email, password }
  }
  let shop: Awaited<ReturnType<typeof signUp>>

  /** The shop's product with one ready image, through the upload's three steps as the shop signed in; answers its thumb's URL as catalog-service gives it. */
  const productWithImage = async ({ email, password }: { email: string; password: string }) => {
    const { accessToken: token } = (await httpClient(users.url)('POST', '/authentication', { body: { strategy: 'local', email, password } })).body
    const call = httpClient(catalog.url)
    const product = await call('POST', '/products', { token, body: { title: 'Oak side table', price: 12_500, currency: 'EUR', stock: 5 } })
    expect(product.status).toBe(201)
    const png = stripedPng(96)
    const images = `/products/${product.body.id}/images`
    const ticket = await call('POST', images, { token, body: { contentType: 'image/png', size: png.length } })
    expect((await fetch(new URL(ticket.body.uploadUrl, catalog.url), { method: 'PUT', headers: ticket.body.headers, body: png })).status).toBe(200)
    await call('POST', `${images}/${ticket.body.imageId}/complete`, { token, body: {} })
    const image = await waitFor(
      async () => {
        const { body } = await call('GET', `${images}/${ticket.body.imageId}`, { token })
        return body.status === 'ready' && body
      },
      { what: 'the product image ready' }
    )
    return { productId: product.body.id as string, thumb: image.urls.thumb as string }
  }

  beforeAll(async () => {
    // user-service in a process of its own: the page signs in there, as a browser would.
    users = await startServiceProcess('user-service', usersEnvironment)
    orders = await startServiceProcess('order-service', ordersEnvironment)
    catalog = await startServiceProcess('catalog-service', catalogEnvironment)
    notify = await startServiceUnderTest({
      label: 'live_notify',
      createApp: createNotifyApp,
      watched: [],
      settings: { live: { userServiceUrl: users.url, orderServiceUrl: orders.url, catalogServiceUrl: catalog.url } }
    })
    shop = await signUp('seller')
    table = await productWithImage(shop)
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
    page = await browser.newPage({ viewport: { width: 1100, height: 720 } })
  })
  afterAll(async () => {
    await browser?.close()
    await notify?.close()
    for (const service of [catalog, orders, users]) service?.child.kill('SIGTERM')
    await Promise.all([catalog?.exited, orders?.exited, users?.exited])
    await cleanUp({
      prefix: usersEnvironment.AMQP_PREFIX,
      databases: [usersEnvironment.DATABASE_URL, ordersEnvironment.DATABASE_URL, catalogEnvironment.DATABASE_URL]
    })
    rmSync(mediaDirectory, { recursive: true, force: true })
  })

  it('serves the page and its settings with a content security policy; anything else under /live is a 404', async () => {
    const html = await fetch(`${notify.url}/live`)
    expect(html.status).toBe(200)
    expect(html.headers.get('content-type')).toContain('text/html')
    // Exactly the origins the page talks to, and images from catalog-service's /media alone.
    expect(html.headers.get('content-security-policy')).toBe(
      `default-src 'self'; connect-src 'self' ${users.url} ${orders.url} ${catalog.url}; img-src ${catalog.url}; frame-ancestors 'none'`
    )
    expect(await (await fetch(`${notify.url}/live/config.json`)).json()).toEqual({
      userServiceUrl: users.url,
      orderServiceUrl: orders.url,
      catalogServiceUrl: catalog.url
    })
    expect((await fetch(`${notify.url}/live/missing.js`)).status).toBe(404)
  })

  it('names the CDN in img-src when catalog-service’s images are served from one (its MEDIA_PUBLIC_URL)', async () => {
    const behindCdn = await startServiceUnderTest({
      label: 'live_notify_cdn',
      createApp: createNotifyApp,
      watched: [],
      settings: {
        live: { userServiceUrl: users.url, orderServiceUrl: orders.url, catalogServiceUrl: catalog.url, mediaUrl: 'https://cdn.example.com/media' }
      }
    })
    try {
      const policy = (await fetch(`${behindCdn.url}/live`)).headers.get('content-security-policy')
      expect(policy).toContain(`connect-src 'self' ${users.url} ${orders.url} ${catalog.url};`)
      expect(policy).toContain('; img-src https://cdn.example.com;')
    } finally {
      await behindCdn.close()
    }
  })

  it('refuses a buyer: the page is for sellers', async () => {
    const someBuyer = await signUp('buyer')
    await page.goto(`${notify.url}/live`)
    await page.getByLabel('E-mail').fill(someBuyer.email)
    await page.getByLabel('Password').fill(someBuyer.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('#sign-in-error').textContent(), { timeout: 10_000 }).toContain('for sellers')
    expect(await page.locator('#live').isHidden()).toBe(true)
  })

  it('signs a seller in, shows a new order as it is paid and its print job as the printer takes it, without a reload; reprints', async () => {
    const seller = { id: shop.user.id, role: 'seller' as const, sellerId: shop.user.id }
    const device = await registeredDevice(notify, seller)
    const printer = await openStream(notify.url, { token: device.token })
    await page.goto(`${notify.url}/live`)
    await page.getByLabel('E-mail').fill(shop.email)
    await page.getByLabel('Password').fill(shop.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect.poll(() => page.locator('#connection').textContent(), { timeout: 15_000 }).toBe('live')
    // Survives only as long as the page is not reloaded (the page's globalThis is its window).
    await page.evaluate(() => ((globalThis as unknown as { marker: string }).marker = 'same page'))

    await expect.poll(() => page.locator('#printers').textContent(), { timeout: 20_000 }).toContain('online')
    expect(await page.locator('#printers').textContent()).toContain('Packing desk printer')
    // The Earnings panel read the shop's GET /ledger at order-service (signed in at user-service): nothing yet.
    await expect.poll(() => page.locator('#no-earnings').isVisible(), { timeout: 15_000 }).toBe(true)
    expect(await page.locator('#earnings').isHidden()).toBe(true)

    // A buyer's order of the table, paid at order-service: its total is in the shop's escrow.
    const signIn = async ({ email, password }: { email: string; password: string }) =>
      (await httpClient(users.url)('POST', '/authentication', { body: { strategy: 'local', email, password } })).body.accessToken as string
    const buyerToken = await signIn(await signUp('buyer'))
    const placed = await waitFor(
      async () => {
        const answer = await fetch(`${orders.url}/checkouts`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${buyerToken}`, 'Idempotency-Key': randomUUID() },
          body: JSON.stringify(checkoutBody([{ productId: table.productId, quantity: 1 }]))
        })
        // order-service learns the product from product.created: until then it is a 400.
        return answer.status === 201 && ((await answer.json()) as { id: string })
      },
      { what: 'order-service to sell the table' }
    )
    const shopToken = await signIn(shop)
    await waitFor(async () => (await httpClient(orders.url)('GET', '/ledger', { token: shopToken })).body.balances?.[0]?.held === 12_500, {
      what: `the order of checkout ${placed.id} paid into escrow`
    })

    // One line of a product with an image, one of a product catalog-service does not know.
    const order = orderPaid(buyer(), seller, {
      buyerName: 'Grace Hopper',
      lines: [
        { productId: table.productId, title: 'Oak side table', quantity: 2, unitPrice: 12_500 },
        { productId: randomUUID(), title: 'Felt pads', quantity: 1, unitPrice: 900 }
      ]
    })
    await notify.emit('order.paid', order)

    const card = page.locator(`#order-${order.orderId}`)
    await expect.poll(() => card.locator('.order-status').textContent(), { timeout: 15_000 }).toBe('paid')
    // order.paid on the stream has the Earnings panel read GET /ledger again: the escrow shows.
    const euros = (cents: number) =>
      page.evaluate((amount) => new Intl.NumberFormat(undefined, { style: 'currency', currency: 'EUR' }).format(amount / 100), cents)
    await expect.poll(() => page.locator('#earnings').isVisible(), { timeout: 15_000 }).toBe(true)
    expect(await page.locator('#no-earnings').isHidden()).toBe(true)
    expect(await page.locator('#earnings tbody tr').allInnerTexts()).toEqual([
      ['EUR', await euros(12_500), await euros(0), await euros(0)].join('\t')
    ])
    expect(await card.textContent()).toContain('Grace Hopper')
    expect(await card.textContent()).toContain('2 × Oak side table')
    // The product's first image beside its line, loaded from catalog-service's /media (the policy lets it);
    // none beside the line of the unknown product.
    const thumb = card.locator(`.order-lines li[data-product-id="${table.productId}"] img`)
    await expect.poll(() => thumb.evaluate((element) => (element as unknown as { naturalWidth: number }).naturalWidth), { timeout: 15_000 }).toBe(96)
    expect(await thumb.getAttribute('src')).toBe(new URL(table.thumb, catalog.url).href)
    expect(await card.locator('.order-lines li').nth(1).locator('img').count()).toBe(0)
    await expect.poll(() => card.locator('.print-state').textContent(), { timeout: 15_000 }).toBe('Receipt: queued')

    // The printer takes the job and prints it: the page follows each state.
    await waitFor(() => printer.received.find((message) => message.type === 'print.job'), { what: 'the print job at the printer' })
    const { jobId } = printer.received.find((message) => message.type === 'print.job')!.data
    for (const status of ['printing', 'printed']) {
      const answer = await fetch(`${notify.url}/print-jobs/${jobId}`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${device.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ status })
      })
      expect(answer.status).toBe(200)
    }
    await expect.poll(() => card.locator('.print-state').textContent(), { timeout: 15_000 }).toBe('Receipt: printed')

    await card.getByRole('button', { name: 'Reprint receipt' }).click()
    await expect.poll(() => card.locator('.print-state').textContent(), { timeout: 15_000 }).toBe('Receipt: printed · Copy: queued')
    await waitFor(() => printer.received.filter((message) => message.type === 'print.job').length === 2, { what: 'the copy at the printer' })
    expect(await page.evaluate(() => (globalThis as unknown as { marker: string }).marker)).toBe('same page')

    // The screenshot in docs/ changes only when asked for; a run leaves the tree as it found it.
    const screenshot = process.env.UPDATE_SCREENSHOT ? join(ROOT, 'docs', 'live-orders.png') : join(tmpdir(), `live-orders-${process.pid}.png`)
    mkdirSync(dirname(screenshot), { recursive: true })
    await page.screenshot({ path: screenshot, fullPage: true })
    expect(statSync(screenshot).size).toBeGreaterThan(0)
    if (!process.env.UPDATE_SCREENSHOT) rmSync(screenshot)
    printer.close()
  })

  it('shows a buyer’s unread message on its order’s card, live, and lets the seller answer it there', async () => {
    const seller = { id: shop.user.id, role: 'seller' as const, sellerId: shop.user.id }
    const customer = buyer()
    const order = orderPaid(customer, seller, { buyerName: 'Ada Lovelace' })
    await notify.emit('order.paid', order)
    await waitFor(() => notify.db('conversation_orders').first().where({ orderId: order.orderId }), { what: 'the order known' })
    await page.goto(`${notify.url}/live`)
    await expect.poll(() => page.locator('#connection').textContent(), { timeout: 15_000 }).toBe('live')
    const card = page.locator(`#order-${order.orderId}`)
    const customerStream = await openStream(notify.url, { as: customer })

    const asked = await notify.call('POST', '/conversations', {
      as: customer,
      body: { orderId: order.orderId, body: 'Can it come <b>gift-wrapped</b>?' }
    })
    expect(asked.status).toBe(201)
    await expect.poll(() => card.locator('.unread').textContent(), { timeout: 15_000 }).toBe('1 unread')
    expect(await card.locator('.messages').textContent()).toContain('Buyer: Can it come <b>gift-wrapped</b>?')

    await card.getByLabel('Answer').fill('Yes,\nwith a card.')
    await card.getByRole('button', { name: 'Send answer' }).click()
    await waitFor(() => customerStream.received.find(({ type, data }) => type === 'message' && data.message.senderRole === 'seller'), {
      what: 'the answer on the buyer’s stream'
    })
    const answer = customerStream.received.find(({ type, data }) => type === 'message' && data.message.senderRole === 'seller')!
    expect(answer.data.message.body).toBe('Yes,\nwith a card.')
    // The buyer's stream can have the answer before the page has the POST's response.
    await expect.poll(() => card.locator('.unread').isHidden(), { timeout: 10_000 }).toBe(true)
    await expect.poll(() => card.locator('.messages li').count(), { timeout: 10_000 }).toBe(2)
    customerStream.close()
  })
})
