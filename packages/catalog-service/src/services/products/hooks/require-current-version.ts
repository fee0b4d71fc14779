import { Conflict } from '@feathersjs/errors'
import type { ServiceHookContext } from '@marketmesh/shared'
import type { ProductPatch, ProductService } from '../products.class'

/**
 * A patch naming a `version` applies only if the product is still at it; else 409 with the current
 * version and stock, to read again. The product is locked since `requireOwnProduct`, so nothing can
 * commit between this check and the write.
 */
export const requireCurrentVersion = () => (context: ServiceHookContext<ProductService>) => {
  const { version } = context.data as ProductPatch
  const { previous } = context.params
  if (version === undefined || !previous || version === previous.version) return
  throw new Conflict(`The product changed since version ${version}: it is at version ${previous.version}`, {
    version: previous.version,
    stock: previous.stock
  })
}
