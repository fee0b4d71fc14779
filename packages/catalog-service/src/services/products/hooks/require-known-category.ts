import { invalidField, type ServiceHookContext } from '@marketmesh/shared'
import type { ProductService } from '../products.class'

export const requireKnownCategory = () => async (context: ServiceHookContext<ProductService>) => {
  const { categoryId } = context.data as { categoryId?: string | null }
  if (!categoryId) return
  const db = context.params.transaction?.trx ?? context.app.get('postgresqlClient')
  if (!(await db('categories').where('id', categoryId).first('id'))) {
    throw invalidField('categoryId', 'no such category')
  }
}
