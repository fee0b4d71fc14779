import { Conflict } from '@feathersjs/errors'
import { invalidField, type ServiceHookContext } from '@marketmesh/shared'
import type { ProductPatch, ProductService } from '../products.class'
import { productSchema } from '../products.schema'

const MAX_STOCK = productSchema.properties.stock.maximum!

/**
 * `stockDelta` becomes the stock to write: the stock as it is now, locked since `requireOwnProduct`,
 * plus the delta, so a reservation committed before the lock counts and none can come after it.
 * Taking more than there is: 409 naming what is left.
 */
export const adjustStock = () => (context: ServiceHookContext<ProductService>) => {
  const patch = context.data as ProductPatch
  const { previous } = context.params
  if (patch.stockDelta === undefined || !previous) return
  if (patch.stock !== undefined) throw invalidField('stockDelta', 'cannot be sent with stock')
  const stock = previous.stock + patch.stockDelta
  if (stock < 0) throw new Conflict(`Not enough stock to take ${-patch.stockDelta}: ${previous.stock} left`, { stock: previous.stock })
  if (stock > MAX_STOCK) throw invalidField('stockDelta', `would take the stock above ${MAX_STOCK}`)
  patch.stock = stock
}
