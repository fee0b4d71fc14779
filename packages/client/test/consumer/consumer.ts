// An app of marketmesh's, as an app developer writes it: type-checked and run by pack.test.ts in an
// empty project whose only dependencies are the packed @marketmesh/client and typescript.
import { createMarketmeshClient, type EventSourceConstructor, type ProductPatch } from '@marketmesh/client'

// No @types/node in the project: what the script needs of Node, declared.
declare const process: { env: Record<string, string | undefined> }

const urls = JSON.parse(process.env.MARKETMESH_URLS ?? '{}')
const tokenLifetimeMs = Number(process.env.TOKEN_LIFETIME_MS)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// What went over the wire: refreshes of the token, and calls refused with a 401.
const seen = { refreshes: 0, refused: 0 }
const counting: typeof fetch = async (input, init) => {
  const response = await fetch(input, init)
  if (typeof init?.body === 'string' && init.body.includes('"strategy":"refresh"')) seen.refreshes++
  if (response.status === 401) seen.refused++
  return response
}

const run = Math.random().toString(36).slice(2, 8)
const password = 'correct horse battery'

const seller = createMarketmeshClient({ urls })
await seller.users.create({ email: `seller-${run}@example.com`, password, name: 'Sally Seller', role: 'seller', shopName: `Sally's ${run}` })
await seller.login(`seller-${run}@example.com`, password)
const product = await seller.products.create({ title: `Receipt paper ${run}`, price: 450, currency: 'EUR', stock: 10 })
const restock: ProductPatch = { stockDelta: 5 }
const restocked = await seller.products.patch(product.id, restock)
// @ts-expect-error -- the server sets updatedAt itself: a patch with it is a 400
const withUpdatedAt: ProductPatch = { updatedAt: new Date().toISOString() }
// @ts-expect-error -- server-side params (pagination switches, the principal, the transaction) are not an app's
const unpaginated = () => seller.products.find({ paginate: false })

// A browser's own EventSource fits the stream's option (Node has none without a flag: undefined here).
const browserEventSource: EventSourceConstructor | undefined = (globalThis as { EventSource?: typeof EventSource }).EventSource

const buyer = createMarketmeshClient({ urls, fetch: counting, refreshAheadMs: 1_000 })
const registered = await buyer.users.create({ email: `buyer-${run}@example.com`, password, name: 'Bea Buyer', role: 'buyer' })
const login = await buyer.login(`buyer-${run}@example.com`, password)
const listed = await buyer.products.find({ query: { sellerId: product.sellerId, $limit: 10 } })
const calls = () => Promise.all([buyer.users.get(registered.id), buyer.orders.find({ query: { $limit: 1 } }), buyer.notifications.find()])

// The access token runs out: the next calls, to three services at once, renew it first, once.
await sleep(tokenLifetimeMs + 500)
await calls()
const afterExpiry = { ...seen }

// A device whose clock is an hour behind sends a token the servers find expired: their 401s renew it, once.
// (Last: Node's fetch keeps its own timers by Date.now, so no connection should outlive the shift.)
const realNow = Date.now
Date.now = () => realNow() - 3_600_000
await sleep(tokenLifetimeMs + 500)
const [me] = await calls()
const afterRefusal = { ...seen }
Date.now = realNow

// After the logout, the refresh token opens nothing.
const { refreshToken } = buyer.tokens!
await buyer.logout()
const refreshAfterLogout = await fetch(`${urls.user}/authentication`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ strategy: 'refresh', refreshToken })
})

console.log(
  JSON.stringify({
    stockAfterRestock: restocked.stock,
    listedTitles: listed.data.map((listedProduct) => listedProduct.title),
    productTitle: product.title,
    loggedInAs: login.user.email,
    refreshTokenRotated: login.refreshToken !== refreshToken,
    meAfterRefusal: me.id === registered.id,
    afterExpiry,
    afterRefusal,
    signedInAfterLogout: buyer.tokens !== undefined,
    refreshAfterLogoutStatus: refreshAfterLogout.status,
    unused: [typeof withUpdatedAt, typeof unpaginated, typeof browserEventSource]
  })
)
