import type { Id, NullableId } from '@feathersjs/feathers'
import { BadRequest, MethodNotAllowed, NotFound } from '@feathersjs/errors'
import { errorHandler, KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { Paginated } from '@feathersjs/feathers'
import { queryPooled } from '@marketmesh/events'
import { invalidField, isUuid, type CachedAnswer, type Knex, type ReadCache, type ServiceApplication } from '@marketmesh/shared'
import { LISTINGS, productTag, queryKey } from '../../cache'
import { imagesOf, imageView } from '../../images/image'
import {
  computedProductFields,
  productColumns,
  productQueryCheck,
  type Product,
  type ProductData,
  type ProductPatch,
  type ProductQuery
} from './products.schema'
import { isActive, isListed, shopNameOf } from './products.sql'

export type { Product, ProductData, ProductPatch, ProductQuery }

export interface ProductParams extends KnexAdapterParams<ProductQuery> {
  /**
   * Set for outside callers: they see active products of sellers who are not disabled, and
   * everything of the shop `ownShop` (a seller's own archived products). With `unavailableShops`
   * (a read by id), also the active products of disabled sellers, which show `available: false`.
   */
  listing?: { ownShop?: string; unavailableShops?: boolean }
  /** The product as it was before this patch or remove (set by `requireOwnProduct`). */
  previous?: Product
}

// Stands for the id while the SQL of `get` is built once; each call binds its own id in its place.
const ID = ':id'

/** `shopName` and `available` are no columns: the adapter selects the columns asked for, `createQuery` adds these. */
const withoutComputedFields = <P extends ProductParams>(params: P, $select: string[]): P => ({
  ...params,
  query: { ...params.query, $select: $select.filter((field) => !computedProductFields.includes(field as keyof Product)) }
})

export interface ProductServiceOptions extends KnexAdapterOptions {
  /** Caches the public view of products and lists (anonymous callers and buyers). */
  readCache?: ReadCache
  ttlSeconds: { product: number; list: number }
  /** Where image URLs point (`media.publicUrl`). */
  mediaPublicUrl: string
}

export class ProductService<ServiceParams extends ProductParams = ProductParams> extends KnexService<
  Product,
  ProductData,
  ServiceParams,
  ProductPatch
> {
  declare options: ProductServiceOptions
  private readonly getStatements = new Map<'public' | 'all', Knex.SqlNative>()

  /**
   * GET /products/:id is the catalog's hottest path: for the public and the unrestricted view,
   * its SQL is built once (in PostgreSQL's `$n` form), and it runs on a pooled connection
   * directly: knex's query runner was about a tenth of the request's CPU in bench/catalog-get.
   * Its id and query are checked here rather than by hooks, each of which costs the request time.
   */
  override async _get(id: Id, params?: ServiceParams): Promise<Product> {
    if (!isUuid(id)) throw invalidField('id', 'must be a UUID')
    if (!productQueryCheck(params?.query ?? {})) throw new BadRequest('Invalid query', productQueryCheck.errors)
    if (!params) return super._get(id)
    const { listing, transaction, knex } = params
    const { filters, query } = this.filterQuery(params)
    const shape = !listing ? 'all' : listing.ownShop || !listing.unavailableShops ? undefined : 'public'
    if (!shape || transaction || knex || filters.$select || Object.keys(query).length > 0) return super._get(id, params)
    const { readCache } = this.options
    if (shape === 'public' && readCache) return readCache.cached(`product:${id}`, this.productEntry(id), () => this.publicProduct(id, params))
    return this.getPrepared(id, shape, params)
  }

  /**
   * GET /products/:id as an anonymous caller sees it, as the read cache's entry (JSON text and
   * ETag), the one `_get` reads: for the answer that skips the service's hooks (see catalogHttpCaching).
   */
  async publicAnswer(id: string): Promise<CachedAnswer> {
    if (!isUuid(id)) throw invalidField('id', 'must be a UUID')
    return this.options.readCache!.cachedAnswer(`product:${id}`, this.productEntry(id), () =>
      this.publicProduct(id, { listing: { unavailableShops: true } } as ServiceParams)
    )
  }

  /**
   * The cache entry of a product's public view: with its ready images, since the anonymous answer
   * (publicAnswer) skips the hooks that attach them. An image that becomes ready, moves or goes
   * bumps the product's version, and its `product.updated` drops the entry.
   */
  private async publicProduct(id: Id, params: ServiceParams): Promise<Product> {
    const product = await this.getPrepared(id, 'public', params)
    const images = await imagesOf(this.getModel(params), [product.id], {})
    return { ...product, images: (images.get(product.id) ?? []).map((row) => imageView(row, this.options.mediaPublicUrl)) }
  }

  private productEntry(id: Id) {
    return { kind: 'product', ttlSeconds: this.options.ttlSeconds.product, tags: [productTag(String(id))] }
  }

  /** The product by id with the SQL built once per shape (see `_get`). */
  private async getPrepared(id: Id, shape: 'public' | 'all', params: ServiceParams): Promise<Product> {
    let statement = this.getStatements.get(shape)
    if (!statement) {
      statement = this.createQuery(params).where('products.id', ID).toSQL().toNative()
      this.getStatements.set(shape, statement)
    }
    const bindings = statement.bindings.map((binding) => (binding === ID ? id : binding))
    let rows: Product[]
    try {
      rows = await queryPooled<Product>(this.getModel(params), statement.sql, bindings)
    } catch (error) {
      errorHandler(error) // throws the matching Feathers error; declared as returning void
      throw error
    }
    if (rows.length !== 1) throw new NotFound(`No record found for id '${id}'`)
    return rows[0]
  }

  /** Lists in the public view (a listing without a shop of the caller's own) come from the read cache. */
  override async _find(params?: ServiceParams & { paginate?: false }): Promise<Product[]>
  override async _find(params?: ServiceParams): Promise<Paginated<Product>>
  override async _find(params?: ServiceParams): Promise<Paginated<Product> | Product[]>
  override async _find(params?: ServiceParams): Promise<Paginated<Product> | Product[]> {
    const { readCache, ttlSeconds } = this.options
    const listing = params?.listing
    if (!readCache || !listing || listing.ownShop || params.transaction || params.knex || params.paginate !== undefined) {
      return super._find(params)
    }
    return readCache.cached(`products:${queryKey(params.query)}`, { kind: 'list', ttlSeconds: ttlSeconds.list, tags: [LISTINGS] }, () =>
      super._find(params)
    )
  }

  // Every read goes through here: soft-deleted rows are gone, and outside callers see only what is listed.
  override createQuery(params?: ServiceParams) {
    const $select = params?.query?.$select
    const builder = super.createQuery(params && $select ? withoutComputedFields(params, $select) : params)
    if (!$select) builder.clearSelect().select(productColumns.map((column) => `products.${column}`))
    const model = this.getModel(params)
    if (!$select || $select.includes('shopName')) builder.select(model.raw(`${shopNameOf('products')} AS "shopName"`))
    if (!$select || $select.includes('available')) builder.select(model.raw(`${isListed('products')} AS available`))
    builder.whereNull('products.deletedAt')
    const listing = params?.listing
    if (listing) {
      builder.where((visible) => {
        visible.whereRaw(listing.unavailableShops ? isActive('products') : isListed('products'))
        if (listing.ownShop) visible.orWhere('products.sellerId', listing.ownShop)
      })
    }
    return builder
  }

  /** Soft delete: the row stays for reservations and reviews that point at it. */
  override async _remove(id: null, params?: ServiceParams): Promise<Product[]>
  override async _remove(id: Id, params?: ServiceParams): Promise<Product>
  override async _remove(id: NullableId, params?: ServiceParams): Promise<Product | Product[]>
  override async _remove(id: NullableId, params?: ServiceParams): Promise<Product | Product[]> {
    if (id === null) throw new MethodNotAllowed('Products are removed one at a time')
    const product = await this._get(id, params)
    await this.db(params).where('id', id).update({ deletedAt: new Date(), updatedAt: new Date() })
    return product
  }
}

export const getOptions = (app: ServiceApplication): ProductServiceOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'products',
  readCache: app.get('readCache'),
  ttlSeconds: app.get('cacheTtlSeconds'),
  mediaPublicUrl: app.get('media').publicUrl
})
