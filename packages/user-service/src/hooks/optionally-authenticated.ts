import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { authenticated } from '@marketmesh/shared'

/** Verifies the caller when the request carries a token and lets anonymous calls through (registration). */
export const optionallyAuthenticated = () => {
  const verify = authenticated()
  return (context: HookContext, next: NextFunction) => (context.params.authentication ? verify(context, next) : next())
}
