import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { ServiceApplication } from './declarations'
import { oneRecordAtATime, refuseUnsafeInput, selectOnlyOnReads } from './hooks'
import { prototypeFreeRoutes } from './routing'

// Around every service hook (an idempotency check, a transaction), not only before its before hooks.
const first = (check: (context: HookContext) => void) => async (context: HookContext, next: NextFunction) => {
  check(context)
  await next()
}

/**
 * What every service refuses before any of its own hooks sees it, so that a service built later
 * does too: NUL characters and bodies nested past reason, no body or a list as the body, a write
 * without an id, `$select` and paging on writes, and path segments named like Object's properties
 * (routed like any unknown id).
 */
export const inputGuards = (app: ServiceApplication) => {
  prototypeFreeRoutes(app)
  const writes = [first(selectOnlyOnReads()), first(oneRecordAtATime())]
  app.hooks({ around: { all: [first(refuseUnsafeInput())], create: writes, update: writes, patch: writes, remove: writes } })
}
