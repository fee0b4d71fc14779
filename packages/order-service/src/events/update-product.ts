import { placeTombstone, tombstoneOf, type EventHandler } from '@marketmesh/events'

/**
 * What a checkout needs of a product: its seller, title, price, currency and whether it can be
 * bought. An event older than the version held changes nothing; a deleted product stays deleted.
 */
export const updateProduct: EventHandler<'product.created' | 'product.updated'> = async (event, { trx }) => {
  const { productId, sellerId, title, price, currency, status, version } = event.data
  if (await tombstoneOf(trx, 'product', productId)) return
  await trx('products')
    .insert({ id: productId, sellerId, title, price, currency, status, version })
    .onConflict('id')
    .merge()
    .whereRaw('products.version < excluded.version')
}

/** A deleted product can no longer be bought, whatever arrives about it later. */
export const deleteProduct: EventHandler<'product.deleted'> = async (event, { trx }) => {
  const { productId } = event.data
  await placeTombstone(trx, 'product', productId, event)
  await trx('products').where({ id: productId }).update({ deleted: true })
}
