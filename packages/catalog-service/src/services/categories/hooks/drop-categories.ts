import type { ServiceHookContext } from '@marketmesh/shared'
import { CATEGORIES } from '../../../cache'
import type { CategoryService } from '../categories.class'

/** After a category write (committed: categories are written without a transaction), before it answers: the cached tree and searches go. */
export const dropCategories = () => async (context: ServiceHookContext<CategoryService>) => {
  await context.app.get('readCache')?.drop([CATEGORIES])
}
