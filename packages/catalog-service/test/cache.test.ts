import { randomUUID } from 'node:crypto'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EventData } from '@marketmesh/events'
import { listen, type Principal, type ServiceApplication } from '@marketmesh/shared'
import { createTcpProxy, metricValue, waitFor } from '@marketmesh/test-support'
import { bearer } from '@marketmesh/test-support/tokens'
import { createApp } from '../src/app'
import { buyer, productData, REDIS_URL, removeCacheKeys, seller, startCatalog, type Catalog } from './helpers'

/** A second instance of the catalog: same database, same broker prefix, same Redis. */
const startInstance = async (settings: Record<string, unknown>) => {
  const app = createApp(settings)
  const server: Server = await listen(app, 0)
  return {
    app,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      await app.teardown()
      server.close()
    }
  }
}

const metric = (app: ServiceApplication, name: string, labels: Record<string, string> = {}) => metricValue(app.get('metrics'), name, labels)

const getJson = async (url: string, principal?: Principal, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { headers: { ...(principal ? bearer(principal) : {}), ...headers } })
  return { status: response.status, headers: response.headers, body: response.status === 304 ? undefined : ((await response.json()) as any) }
}

let catalog: Catalog
type Instance = Awaited<ReturnType<typeof startInstance>>
let other: Instance
beforeAll(async () => {
  catalog = await startCatalog('cache')
  other = await startInstance(catalog.settings)
})
afterAll(async () => {
  await other?.close()
  await catalog?.close()
})

const createProduct = async (owner: Principal, overrides: Record<string, unknown> = {}) =>
  (await catalog.call('POST', '/products', { as: owner, body: productData(overrides) })).body

/** A new seller's new product at `price`, read on `instance` until an answer comes from its cache. */
const cachedProduct = async (instance: Instance, price: number) => {
  const owner = seller()
  const product = await createProduct(owner, { price })
  const read = async () => (await getJson(`${instance.url}/products/${product.id}`)).body.price
  await waitFor(async () => (await read()) === price && (await metric(instance.app, 'cache_hits_total', { kind: 'product' })) > 0, {
    what: 'a cached read'
  })
  return { owner, product, read }
}

const patchPrice = (instance: Instance, owner: Principal, productId: string, price: number) =>
  fetch(`${instance.url}/products/${productId}`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/json', ...bearer(owner) },
    body: JSON.stringify({ price })
  })

describe('the read cache', () => {
  it('never answers stale on instance B right after a write on instance A: 1,000 writes, readers racing them', async () => {
    const owner = seller()
    const product = await createProduct(owner, { price: 1_000 })
    // Readers on B keep loading and storing the product while the writes go on: the race of a
    // load that read the old row and stores it after the write's invalidation.
    let writing = true
    const racers = Array.from({ length: 2 }, async () => {
      while (writing) await getJson(`${other.url}/products/${product.id}`)
    })
    const hitsBefore = await metric(other.app, 'cache_hits_total', { kind: 'product' })
    let stale = 0
    try {
      for (let i = 1; i <= 1_000; i++) {
        const price = 1_000 + i
        const patched = await catalog.call('PATCH', `/products/${product.id}`, { as: owner, body: { price } })
        expect(patched.status).toBe(200)
        const read = await getJson(`${other.url}/products/${product.id}`)
        if (read.body.price !== price) stale++
      }
    } finally {
      writing = false
      await Promise.all(racers)
    }
    expect(stale).toBe(0)
    // B's answers came from the cache between the writes, not only from the database.
    expect((await metric(other.app, 'cache_hits_total', { kind: 'product' })) - hitsBefore).toBeGreaterThan(100)
    expect(await metric(catalog.app, 'cache_invalidations_total')).toBeGreaterThanOrEqual(2_000)
  }, 600_000)

  it('loads once for 100 concurrent misses of one product', async () => {
    const product = await createProduct(seller())
    const loadsBefore = await metric(other.app, 'cache_loads_total', { kind: 'product' })
    const reads = await Promise.all(Array.from({ length: 100 }, () => getJson(`${other.url}/products/${product.id}`)))
    expect(reads.every((read) => read.status === 200 && read.body.id === product.id)).toBe(true)
    expect((await metric(other.app, 'cache_loads_total', { kind: 'product' })) - loadsBefore).toBe(1)
  })

  it('drops a product as soon as the saga’s handler commits a reservation or a release, without waiting for its event’s publication', async () => {
    const owner = seller()
    const product = await createProduct(owner, { stock: 10 })
    const instances = [catalog, other]
    const stockOn = async (url: string) => (await getJson(`${url}/products/${product.id}`)).body.stock
    const hits = () => Promise.all(instances.map(({ app }) => metric(app, 'cache_hits_total', { kind: 'product' })))
    const hitsBefore = await hits()
    for (const { url } of instances) for (let i = 0; i < 2; i++) expect(await stockOn(url)).toBe(10)
    // Both instances answered from their cache: their next read is a hit unless the entry is dropped.
    ;(await hits()).forEach((count, i) => expect(count - hitsBefore[i]).toBeGreaterThanOrEqual(1))
    // Either instance may handle an order event; the other one must not answer stale either.
    const handled = async (type: string) =>
      (await Promise.all(instances.map(({ app }) => metric(app, 'events_consumed_total', { type, consumer: 'catalog-service' })))).reduce(
        (a, b) => a + b
      )
    const unpublished = (type: string, orderId: string) =>
      catalog.db('outbox').where({ type }).whereNull('sent_at').whereRaw(`envelope->'data'->>'orderId' = ?`, [orderId]).count({ n: '*' }).first()
    const order = {
      orderId: randomUUID(),
      buyerId: randomUUID(),
      sellerId: owner.sellerId!,
      version: 1,
      checkoutId: randomUUID(),
      lines: [{ productId: product.id, quantity: 3, unitPrice: product.price }],
      total: 3 * product.price,
      currency: 'EUR'
    } satisfies EventData<'order.created'>
    // The relays stand still: the stock events stay in the outbox, so only the handler's own commit can drop the entries.
    const relays = instances.map(({ app }) => app.get('events').relay)
    await Promise.all(relays.map((relay) => relay.stop()))
    try {
      for (const [type, stock, send] of [
        ['order.created', 7, () => catalog.emit('order.created', order)],
        [
          'order.cancelled',
          10,
          () =>
            catalog.emit('order.cancelled', { orderId: order.orderId, buyerId: order.buyerId, sellerId: order.sellerId, version: 2, reason: 'buyer' })
        ]
      ] as const) {
        const before = await handled(type)
        await send()
        // Counted once the handler's transaction committed and its invalidation was done, before the ack.
        await waitFor(async () => (await handled(type)) > before, { what: `${type} handled`, intervalMs: 1 })
        for (const { url } of instances) expect(await stockOn(url)).toBe(stock)
      }
      expect(Number((await unpublished('stock.reserved', order.orderId))?.n)).toBe(1)
      expect(Number((await unpublished('stock.released', order.orderId))?.n)).toBe(1)
    } finally {
      await Promise.all(relays.map((relay) => relay.start()))
    }
    await catalog.eventsOf('stock.released', 1, (event) => event.data.orderId === order.orderId)
  })

  it('drops every product of a seller whose account is disabled, and lists and searches with them', async () => {
    const owner = seller()
    const product = await createProduct(owner, { title: `Unique ${owner.id}` })
    const search = `${other.url}/search?q=${encodeURIComponent(owner.id)}`
    const list = `${other.url}/products?sellerId=${owner.sellerId}`
    for (let i = 0; i < 2; i++) {
      expect((await getJson(`${other.url}/products/${product.id}`)).body.available).toBe(true)
      expect((await getJson(list)).body.total).toBe(1)
    }
    const consumed = await metric(catalog.app, 'events_consumed_total', { type: 'user.updated' })
    await catalog.emit('user.updated', {
      userId: owner.id,
      version: 2,
      role: 'seller',
      name: 'Shop',
      email: `${owner.id}@example.com`,
      status: 'disabled'
    })
    // Counted once its transaction committed and its invalidation was done.
    await waitFor(async () => (await metric(catalog.app, 'events_consumed_total', { type: 'user.updated' })) > consumed, {
      what: 'user.updated handled'
    })
    expect((await getJson(`${other.url}/products/${product.id}`)).body.available).toBe(false)
    expect((await getJson(list)).body.total).toBe(0)
    expect((await getJson(search)).body.total).toBe(0)
  })

  it('only costs misses when Redis loses its keys (flush, eviction)', async () => {
    const owner = seller()
    const product = await createProduct(owner, { price: 500 })
    await getJson(`${other.url}/products/${product.id}`)
    await removeCacheKeys(catalog.settings.postgresql.connection)
    const missesBefore = await metric(other.app, 'cache_misses_total', { kind: 'product' })
    expect((await getJson(`${other.url}/products/${product.id}`)).body.price).toBe(500)
    expect((await metric(other.app, 'cache_misses_total', { kind: 'product' })) - missesBefore).toBeGreaterThanOrEqual(1)
    await catalog.call('PATCH', `/products/${product.id}`, { as: owner, body: { price: 600 } })
    expect((await getJson(`${other.url}/products/${product.id}`)).body.price).toBe(600)
  })

  it('serves the cache metrics on /metrics', async () => {
    const text = await (await fetch(`${catalog.opsUrl}/metrics`)).text()
    for (const name of ['cache_hits_total', 'cache_misses_total', 'cache_invalidations_total', 'cache_redis_errors_total']) {
      expect(text).toContain(`# TYPE ${name} counter`)
    }
  })
})

describe('HTTP caching', () => {
  it('gives a product an ETag, answers If-None-Match with 304 until it changes, and has it revalidated every time', async () => {
    const owner = seller()
    const product = await createProduct(owner)
    const first = await getJson(`${catalog.url}/products/${product.id}`)
    const etag = first.headers.get('etag')!
    expect(etag).toMatch(/^"[\w-]+"$/)
    expect(first.headers.get('cache-control')).toBe('public, no-cache')
    expect(first.headers.get('vary')).toContain('Authorization')
    const again = await getJson(`${other.url}/products/${product.id}`, undefined, { 'If-None-Match': etag })
    expect(again.status).toBe(304)
    await catalog.call('PATCH', `/products/${product.id}`, { as: owner, body: { price: 123 } })
    const changed = await getJson(`${other.url}/products/${product.id}`, undefined, { 'If-None-Match': etag })
    expect(changed.status).toBe(200)
    expect(changed.body.price).toBe(123)
    expect(changed.headers.get('etag')).not.toBe(etag)
  })

  it('lets search answers be seconds old, with an ETag and 304', async () => {
    const first = await getJson(`${catalog.url}/search?q=lamp`)
    expect(first.status).toBe(200)
    expect(first.headers.get('cache-control')).toBe('public, max-age=10, stale-while-revalidate=30')
    const again = await getJson(`${catalog.url}/search?q=lamp`, undefined, { 'If-None-Match': first.headers.get('etag')! })
    expect(again.status).toBe(304)
  })

  it('marks authenticated answers private, and never serves a seller’s own view to others', async () => {
    const owner = seller()
    const product = await createProduct(owner, { status: 'archived' })
    const own = await getJson(`${catalog.url}/products/${product.id}`, owner)
    expect(own.status).toBe(200)
    expect(own.headers.get('cache-control')).toBe('private, no-cache')
    expect((await getJson(`${catalog.url}/products/${product.id}`)).status).toBe(404)
    const listed = await createProduct(owner)
    const asBuyer = await getJson(`${catalog.url}/products/${listed.id}`, buyer())
    expect(asBuyer.headers.get('cache-control')).toBe('private, no-cache')
    expect((await getJson(`${catalog.url}/search?q=lamp`, buyer())).headers.get('cache-control')).toBe('private, no-cache')
  })
})

describe('without Redis', () => {
  it('serves from PostgreSQL when Redis is unreachable, counting the errors, and with CACHE=off', async () => {
    for (const settings of [{ cache: { mode: 'off' } }, { redis: { url: 'redis://127.0.0.1:1' } }]) {
      const instance = await startInstance({ ...catalog.settings, ...settings })
      try {
        const owner = seller()
        const product = await createProduct(owner, { price: 700 })
        for (let i = 0; i < 3; i++) expect((await getJson(`${instance.url}/products/${product.id}`)).body.price).toBe(700)
        const patched = await patchPrice(instance, owner, product.id, 800)
        expect(patched.status).toBe(200)
        expect((await getJson(`${instance.url}/products/${product.id}`)).body.price).toBe(800)
        expect((await getJson(`${instance.url}/search?q=lamp`)).status).toBe(200)
        expect(await metric(instance.app, 'cache_hits_total')).toBe(0)
        const errors = await metric(instance.app, 'cache_redis_errors_total')
        if ('redis' in settings) expect(errors).toBeGreaterThan(0)
        else expect(errors).toBe(0)
      } finally {
        await instance.close()
      }
    }
  })

  it('fails fast when Redis stops answering with its connection open: reads and writes within the command timeout, from PostgreSQL', async () => {
    // Forwards to Redis until frozen; then swallows everything, both ways, and closes nothing.
    let frozen = false
    const sockets = new Set<Socket>()
    const blackHole = createServer((client) => {
      const upstream = connect(Number(new URL(REDIS_URL).port || 6379), new URL(REDIS_URL).hostname)
      for (const [from, to] of [
        [client, upstream],
        [upstream, client]
      ]) {
        sockets.add(from)
        from.on('error', () => from.destroy())
        from.on('data', (data) => frozen || to.write(data))
      }
    })
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve))
    const instance = await startInstance({
      ...catalog.settings,
      redis: { url: `redis://127.0.0.1:${(blackHole.address() as AddressInfo).port}`, commandTimeoutMs: 250 }
    })
    try {
      const { owner, product, read } = await cachedProduct(instance, 300)
      frozen = true
      const timed = async <T>(work: () => Promise<T>) => {
        const started = Date.now()
        const value = await work()
        return { value, ms: Date.now() - started }
      }
      // The first read waits for its command's timeout; the next ones go to PostgreSQL at once.
      for (let i = 0; i < 3; i++) {
        const { value, ms } = await timed(read)
        expect(value).toBe(300)
        expect(ms).toBeLessThan(5_000)
      }
      const patch = await timed(() => patchPrice(instance, owner, product.id, 350))
      expect(patch.value.status).toBe(200)
      expect(patch.ms).toBeLessThan(5_000)
      expect(await read()).toBe(350)
      expect(await metric(instance.app, 'cache_redis_errors_total')).toBeGreaterThan(0)
    } finally {
      const closing = await (async () => {
        const started = Date.now()
        await instance.close()
        return Date.now() - started
      })()
      for (const socket of sockets) socket.destroy()
      blackHole.close()
      expect(closing).toBeLessThan(10_000)
    }
  })

  it('keeps answering while Redis is cut off mid-run, and serves no entry it could not drop once it is back', async () => {
    const redisPort = Number(new URL(REDIS_URL).port || 6379)
    const proxy = await createTcpProxy({ host: new URL(REDIS_URL).hostname, port: redisPort })
    const instance = await startInstance({ ...catalog.settings, redis: { url: `redis://127.0.0.1:${proxy.port}`, commandTimeoutMs: 250 } })
    try {
      const { owner, product, read } = await cachedProduct(instance, 900)
      await proxy.cut()
      // The write commits; its invalidation cannot reach Redis, where the old entry stays.
      const patched = await patchPrice(instance, owner, product.id, 950)
      expect(patched.status).toBe(200)
      expect(await read()).toBe(950)
      expect(await metric(instance.app, 'cache_redis_errors_total')).toBeGreaterThan(0)
      await proxy.restore()
      const hits = await metric(instance.app, 'cache_hits_total', { kind: 'product' })
      await waitFor(async () => (await read()) === 950 && (await metric(instance.app, 'cache_hits_total', { kind: 'product' })) > hits, {
        what: 'cached reads again'
      })
      expect(await read()).toBe(950)
    } finally {
      await instance.close()
      await proxy.close()
    }
  })
})

// The run's keys go with the catalog (helpers.ts); this one is only for a test that failed half-way.
afterAll(() => removeCacheKeys(catalog.settings.postgresql.connection))
