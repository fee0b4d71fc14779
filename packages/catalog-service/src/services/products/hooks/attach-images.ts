import type { Paginated } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceHookContext } from '@marketmesh/shared'
import { imagesOf, imageView } from '../../../images/image'
import { shopOf } from '../../../shop'
import type { Product, ProductService } from '../products.class'

/**
 * After a read or a write: each product's `images` in their order, unless `$select` leaves them
 * out. Its shop and admins see every image with its status, everyone else the ready ones.
 */
export const attachImages = () => async (context: ServiceHookContext<ProductService>) => {
  const { query, principal, provider, transaction } = context.params as KnexAdapterParams & typeof context.params
  if (query?.$select && !query.$select.includes('images')) return
  const result = context.result as Product | Product[] | Paginated<Product>
  const products = Array.isArray(result) ? result : 'data' in result ? result.data : [result]
  const viewer = !provider || principal?.role === 'admin' ? { all: true } : { ownShop: principal?.role === 'seller' ? shopOf(principal) : undefined }
  const images = await imagesOf(
    transaction?.trx ?? context.app.get('postgresqlClient'),
    products.map((product) => product.id),
    viewer
  )
  const { publicUrl } = context.app.get('media')
  for (const product of products) product.images = (images.get(product.id) ?? []).map((row) => imageView(row, publicUrl))
}
