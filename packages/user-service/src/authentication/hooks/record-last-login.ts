import type { HookContext } from '@feathersjs/feathers'
import { getDispatch, setDispatch } from '@feathersjs/schema'
import type { ServiceApplication } from '@marketmesh/shared'
import { userPath } from '../../services/users/users.shared'

/** After hook of POST /authentication: a password login stamps the user's lastLoginAt (no event: it is no profile change). */
export const recordLastLogin = async (context: HookContext<ServiceApplication>) => {
  const { result } = context
  if (result?.authentication?.strategy !== 'local') return
  const lastLoginAt = new Date().toISOString()
  await context.app.service(userPath)._patch(result.user.id, { lastLoginAt })
  const stamp = <T extends object>(user: T) => ({ ...user, lastLoginAt })
  const user = stamp(result.user)
  // The user came from the users service with its external form (no password hash) attached as a
  // hidden "dispatch" value, which a copy would lose and the response would then show the full record.
  const external = getDispatch(result.user)
  if (external) setDispatch(user, stamp(external))
  context.result = { ...result, user }
}
