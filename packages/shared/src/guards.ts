import type { ServiceApplication } from './declarations'
import { oneRecordAtATime, refuseUnsafeInput, selectOnlyOnReads } from './hooks'
import { prototypeFreeRoutes } from './routing'

/**
 * What every service refuses before its own hooks see it, so that a service built later does too:
 * NUL characters and bodies nested past reason, `$select` and paging on writes, a list as the body
 * of a service that takes one record at a time, and path segments named like Object's properties
 * (routed like any unknown id).
 */
export const inputGuards = (app: ServiceApplication) => {
  prototypeFreeRoutes(app)
  const writes = [selectOnlyOnReads()]
  const withBody = [...writes, oneRecordAtATime()]
  app.hooks({ before: { all: [refuseUnsafeInput()], create: withBody, update: withBody, patch: withBody, remove: writes } })
}
