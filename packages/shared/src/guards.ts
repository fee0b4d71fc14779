import type { ServiceApplication } from './declarations'
import { refuseUnsafeInput, selectOnlyOnReads } from './hooks'
import { prototypeFreeRoutes } from './routing'

/**
 * What every service refuses before its own hooks see it, so that a service built later does too:
 * NUL characters and bodies nested past reason, `$select` and paging on writes, and path segments
 * named like Object's properties (routed like any unknown id).
 */
export const inputGuards = (app: ServiceApplication) => {
  prototypeFreeRoutes(app)
  const writes = [selectOnlyOnReads()]
  app.hooks({ before: { all: [refuseUnsafeInput()], create: writes, update: writes, patch: writes, remove: writes } })
}
