import type { EventData } from '@marketmesh/shared'
import type { Product } from '../products.class'

/** What order-service keeps of a product (`product.created` / `product.updated`). */
export const productEvent = (
  product: Pick<Product, 'id' | 'sellerId' | 'parentId' | 'title' | 'price' | 'currency' | 'status'>
): EventData<'product.created'> => ({
  productId: product.id,
  sellerId: product.sellerId,
  parentId: product.parentId,
  title: product.title,
  price: product.price,
  currency: product.currency,
  status: product.status
})
