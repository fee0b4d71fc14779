import { invalidField, type ServiceHookContext } from '@marketmesh/shared'
import type { ProductData, ProductService } from '../products.class'

/**
 * A variant belongs to a product of the same shop and takes its shared fields (title,
 * description, category, attributes) from it; its own attributes (e.g. size) are added to the parent's.
 */
export const inheritFromParent = () => async (context: ServiceHookContext<ProductService>) => {
  const data = context.data as ProductData
  if (!data.parentId) return
  const parent = await context.service
    ._get(data.parentId, { transaction: context.params.transaction })
    .catch(() => Promise.reject(invalidField('parentId', 'no such product')))
  if (parent.parentId) throw invalidField('parentId', 'is itself a variant; variants hang off the main product')
  if (parent.sellerId !== data.sellerId) throw invalidField('parentId', 'belongs to another shop')
  Object.assign(data, {
    title: parent.title,
    description: parent.description,
    categoryId: parent.categoryId,
    attributes: { ...parent.attributes, ...data.attributes }
  })
}
