import { isDeepStrictEqual } from 'node:util'
import { transactionOf, type ServiceHookContext } from '@marketmesh/shared'
import type { ProductPatch, ProductService } from '../products.class'
import { productEvent } from './product-event'

/**
 * After a parent product changes, its variants get the same shared fields, in the same
 * transaction. Attributes: only the keys whose value changed on the parent are set (or removed)
 * on the variants, so what distinguishes a variant (its own keys, e.g. size) stays. Each variant's
 * version goes up in the same statement, and its product.updated carries that variant's own.
 */
export const propagateToVariants = () => async (context: ServiceHookContext<ProductService>) => {
  const { previous } = context.params
  const data = context.data as ProductPatch
  if (!previous || previous.parentId) return
  const trx = transactionOf(context)
  const changes: Record<string, unknown> = {}
  for (const field of ['title', 'description', 'categoryId'] as const) {
    if (data[field] !== undefined && data[field] !== previous[field]) changes[field] = data[field]
  }
  if (data.attributes) {
    const before = previous.attributes
    const after = data.attributes
    const set = Object.fromEntries(Object.entries(after).filter(([key, value]) => !isDeepStrictEqual(before[key], value)))
    const removed = Object.keys(before).filter((key) => !(key in after))
    if (Object.keys(set).length > 0 || removed.length > 0) {
      changes.attributes = trx.raw('(attributes - ARRAY(SELECT jsonb_array_elements_text(?::jsonb))) || ?::jsonb', [
        JSON.stringify(removed),
        JSON.stringify(set)
      ])
    }
  }
  if (Object.keys(changes).length === 0) return
  const variants = await trx('products')
    .where({ parentId: previous.id, deletedAt: null })
    .update({ ...changes, updatedAt: trx.fn.now() })
    .increment('version', 1)
    .returning(['id', 'sellerId', 'version', 'parentId', 'title', 'price', 'currency', 'status'])
  await context.app.get('events').emitAll(trx, 'product.updated', variants.map(productEvent))
}
