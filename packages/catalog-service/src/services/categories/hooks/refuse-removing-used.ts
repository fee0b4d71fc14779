import { Conflict } from '@feathersjs/errors'
import type { ServiceHookContext } from '@marketmesh/shared'
import type { CategoryService } from '../categories.class'

/** A category with subcategories or products stays: move or remove those first. */
export const refuseRemovingUsed = () => async (context: ServiceHookContext<CategoryService>) => {
  const db = context.app.get('postgresqlClient')
  const [child, product] = await Promise.all([
    db('categories').where('parentId', context.id!).first('id'),
    db('products').where('categoryId', context.id!).first('id')
  ])
  if (child) throw new Conflict('The category has subcategories')
  if (product) throw new Conflict('The category still has products')
}
