import type { EventData } from '@marketmesh/events'
import type { Product } from '../products.class'

/** What order-service keeps of a product (`product.created` / `product.updated`). */
export const productEvent = (
  product: Pick<Product, 'id' | 'sellerId' | 'version' | 'parentId' | 'title' | 'price' | 'currency' | 'status'> & Pick<Partial<Product>, 'images'>
): EventData<'product.created'> => ({
  productId: product.id,
  sellerId: product.sellerId,
  version: product.version,
  parentId: product.parentId,
  title: product.title,
  price: product.price,
  currency: product.currency,
  status: product.status,
  ...(product.images && { imageIds: product.images.filter((image) => image.status === 'ready').map((image) => image.id) })
})

/** `product.deleted`: with the version of the removal, which is above any update of the product. */
export const productDeletedEvent = (product: Pick<Product, 'id' | 'sellerId' | 'version'>): EventData<'product.deleted'> => ({
  productId: product.id,
  sellerId: product.sellerId,
  version: product.version
})
