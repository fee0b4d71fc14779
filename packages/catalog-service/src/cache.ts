import { createHash } from 'node:crypto'
import type { Query } from '@feathersjs/feathers'
import type { Middleware } from '@feathersjs/koa'
import { type EventData, type EventType } from '@marketmesh/events'
import { httpCaching, sendAnswer, type Knex, type ReadCache, type ServiceApplication } from '@marketmesh/shared'

/**
 * What the catalog caches and which writes drop it. The tags:
 * - `product:<id>`: GET /products/:id of that product;
 * - `listings`: every list and search, which any product may enter or leave;
 * - `categories`: the category tree, and the searches (they filter by subtree).
 */
export const productTag = (id: string) => `product:${id}`
export const LISTINGS = 'listings'
export const CATEGORIES = 'categories'

/** A query as part of a key: its JSON, hashed (queries can be long). Two spellings of one query are two entries. */
export const queryKey = (query: Query | undefined) =>
  createHash('sha1')
    .update(JSON.stringify(query ?? {}))
    .digest('base64url')

type Lines = { lines: Array<{ productId: string }> }

/** The tags an event the catalog writes says are changed: its outbox event names what changed. */
const tagsOfEvent = (type: EventType, data: unknown): string[] => {
  switch (type) {
    case 'product.created':
    case 'product.updated':
    case 'product.deleted':
    case 'review.created':
      return [productTag((data as EventData<'product.updated'>).productId), LISTINGS]
    case 'stock.reserved':
    case 'stock.released':
      return [...(data as Lines).lines.map((line) => productTag(line.productId)), LISTINGS]
    default:
      return []
  }
}

/**
 * Every transaction that writes a catalog event drops what the event changed, after its commit and
 * before it answers (the HTTP write, or the consumer's handling of an order event).
 */
export const dropOnEvents = (app: ServiceApplication) => {
  const cache = app.get('readCache')
  if (!cache) return
  app.get('events').onEmit((trx, type, dataList) => {
    const tags = dataList.flatMap((data) => tagsOfEvent(type, data))
    if (tags.length > 0) cache.dropAfterCommit(trx, tags)
  })
}

/** A seller's name or status changed (no catalog event says so): every product of the shop shows it. */
export const dropShopAfterCommit = async (cache: ReadCache | undefined, trx: Knex.Transaction, sellerId: string) => {
  if (!cache?.enabled) return
  const ids: string[] = await trx('products').where({ sellerId }).pluck('id')
  cache.dropAfterCommit(trx, [...ids.map(productTag), LISTINGS])
}

/** A product's price and stock must never be served old: its answer may be stored but is revalidated every time (answered 304 while unchanged). */
const PRODUCT_CACHE_CONTROL = 'public, no-cache'

/**
 * HTTP caching of the public reads. Lists and search may be seconds old; the category tree,
 * minutes. The hottest read, an anonymous product by id, is answered first, from the read cache.
 */
export const catalogHttpCaching = (app: ServiceApplication) => {
  app.use(anonymousProductReads(app))
  app.use(
    httpCaching([
      { path: /^\/products\/[^/]+$/, anonymous: PRODUCT_CACHE_CONTROL },
      { path: /^\/(products|search)$/, anonymous: 'public, max-age=10, stale-while-revalidate=30' },
      { path: /^\/categories(\/[^/]+)?$/, anonymous: 'public, max-age=60, stale-while-revalidate=300' }
    ])
  )
}

const PRODUCT_BY_ID = /^\/products\/([^/]+)$/

/**
 * `GET /products/:id` without credentials or query, answered with the read cache's entry as it is
 * (its JSON text and ETag), ahead of the body parser, the service's REST layer and hooks: they were
 * most of its CPU once the database read was cached. The same entry as the service's own read;
 * anything else (a miss that fails, a bad id) goes on to the service, which answers as always.
 */
const anonymousProductReads =
  (app: ServiceApplication): Middleware =>
  async (ctx, next) => {
    if (ctx.method !== 'GET' || ctx.querystring !== '' || ctx.get('authorization') || !app.get('readCache')?.enabled) return next()
    const match = PRODUCT_BY_ID.exec(ctx.path)
    if (!match) return next()
    let answer
    try {
      answer = await app.service('products').publicAnswer(match[1])
    } catch {
      return next()
    }
    ctx.state.route = '/products/:id'
    sendAnswer(ctx, answer, PRODUCT_CACHE_CONTROL)
  }
