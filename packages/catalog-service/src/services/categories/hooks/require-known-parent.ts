import { invalidField, type ServiceHookContext } from '@marketmesh/shared'
import type { CategoryService } from '../categories.class'

/** The parent must exist and, when a category moves, must not lie inside it: the tree stays a tree. */
export const requireKnownParent = () => async (context: ServiceHookContext<CategoryService>) => {
  const { parentId } = context.data as { parentId?: string | null }
  if (!parentId) return
  const db = context.app.get('postgresqlClient')
  const { rows } = await db.raw(
    `WITH RECURSIVE ancestors AS (
       SELECT id, "parentId" FROM categories WHERE id = ?
       UNION SELECT c.id, c."parentId" FROM categories c JOIN ancestors a ON c.id = a."parentId"
     )
     SELECT id FROM ancestors`,
    [parentId]
  )
  if (rows.length === 0) throw invalidField('parentId', 'no such category')
  if (context.id !== undefined && rows.some((row: { id: string }) => row.id === context.id)) {
    throw invalidField('parentId', 'would put the category inside itself')
  }
}
