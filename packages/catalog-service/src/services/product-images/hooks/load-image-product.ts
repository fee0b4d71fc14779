import { NotFound } from '@feathersjs/errors'
import type { HookContext } from '@feathersjs/feathers'
import { invalidField, isUuid, transactionOf, type ServiceApplication } from '@marketmesh/shared'
import { shopOf } from '../../../shop'

declare module '@feathersjs/feathers' {
  interface Params {
    /** The product of `products/:productId/images...`, as the caller may see it (set by `loadImageProduct`). */
    imageProduct?: { id: string; sellerId: string }
    /** Whose images beyond the ready ones the caller sees: an admin all, a seller their shop's. */
    imageViewer?: { all?: boolean; ownShop?: string }
  }
}

/**
 * The product in the path, before anything else of the call: a product the caller cannot see is
 * 404, as is, for a write, another shop's product (a seller learns nothing of other shops'
 * images). A write locks the product's row until its transaction ends, so that the images'
 * count and order are decided one write at a time.
 */
export const loadImageProduct = (access: 'read' | 'write') => async (context: HookContext<ServiceApplication>) => {
  const { route, principal, provider } = context.params
  const productId = route?.productId
  if (!isUuid(productId)) throw invalidField('productId', 'must be a UUID')
  const admin = !provider || principal?.role === 'admin'
  const ownShop = principal?.role === 'seller' ? shopOf(principal) : undefined
  if (access === 'write') {
    const query = transactionOf(context)('products').where({ id: productId }).whereNull('deletedAt').forUpdate()
    if (!admin) query.where('sellerId', ownShop ?? null)
    const product = await query.first('id', 'sellerId')
    if (!product) throw new NotFound(`No record found for id '${productId}'`)
    context.params.imageProduct = product
  } else {
    const listing = admin ? undefined : { ...(ownShop && { ownShop }), unavailableShops: true }
    const product = await context.app.service('products')._get(productId, { listing })
    context.params.imageProduct = { id: product.id, sellerId: product.sellerId }
  }
  context.params.imageViewer = admin ? { all: true } : { ownShop }
}
