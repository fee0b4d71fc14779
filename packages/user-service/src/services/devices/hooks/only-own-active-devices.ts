import type { HookContext } from '@feathersjs/feathers'
import { principalOf } from '@marketmesh/shared'

/** A seller sees and revokes only their own devices (an admin any); revoked ones are gone from the API. */
export const onlyOwnActiveDevices = (context: HookContext) => {
  const principal = context.params.provider ? principalOf(context) : undefined
  const own = principal && principal.role !== 'admin' ? { sellerId: principal.sellerId } : {}
  context.params.query = { ...context.params.query, ...own, revokedAt: null }
}
