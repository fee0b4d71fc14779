import { invalidField, type ServiceHookContext } from '@marketmesh/shared'
import type { ProductService } from '../products.class'

/** Attributes are for filtering and facets, not for documents (every value of them goes to `attribute_values`). */
export const MAX_ATTRIBUTES_BYTES = 2_000

export const limitAttributesSize = () => (context: ServiceHookContext<ProductService>) => {
  const { attributes } = context.data as { attributes?: Record<string, unknown> }
  if (attributes && Buffer.byteLength(JSON.stringify(attributes)) > MAX_ATTRIBUTES_BYTES) {
    throw invalidField('attributes', `must be at most ${MAX_ATTRIBUTES_BYTES} bytes of JSON`)
  }
}
