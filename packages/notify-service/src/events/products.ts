import type { EventHandler } from '@marketmesh/shared'

/** What conversations need of a product (its shop and title), at its newest version. */
export const keepProduct: EventHandler<'product.created' | 'product.updated'> = async ({ data }, { trx }) => {
  const { productId, sellerId, title, version } = data
  await trx('conversation_products')
    .insert({ productId, sellerId, title, version, deleted: false })
    .onConflict('productId')
    .merge()
    .whereRaw('conversation_products.version < excluded.version')
}

/** A deleted product takes no new conversations; those about it stay. A late update does not bring it back. */
export const deleteProduct: EventHandler<'product.deleted'> = async ({ data }, { trx }) => {
  const { productId, sellerId, version } = data
  await trx('conversation_products')
    .insert({ productId, sellerId, version, deleted: true })
    .onConflict('productId')
    .merge({ deleted: true, version: trx.raw('greatest(conversation_products.version, excluded.version)') })
}
