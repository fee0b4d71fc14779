import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { ServiceApplication } from './declarations'
import { oneRecordAtATime, refuseUnsafeInput, selectOnlyOnReads } from './hooks'
import { prototypeFreeRoutes } from './routing'

const WRITES = ['create', 'update', 'patch', 'remove']

/**
 * What every service refuses before any of its own hooks sees it, so that a service built later
 * does too: NUL characters and bodies nested past reason, no body or a list as the body, a write
 * without an id, `$select` and paging on writes, and path segments named like Object's properties
 * (routed like any unknown id).
 */
export const inputGuards = (app: ServiceApplication) => {
  prototypeFreeRoutes(app)
  const [unsafeInput, readOptions, oneRecord] = [refuseUnsafeInput(), selectOnlyOnReads(), oneRecordAtATime()]
  // Around a write, since a service's own around hooks (an idempotency check, a transaction) read its body.
  const guardWrite = async (context: HookContext, next: NextFunction) => {
    unsafeInput(context)
    readOptions(context)
    oneRecord(context)
    await next()
  }
  // Before the rest: an around hook more would cost the hottest reads (GET /products/:id) time.
  const guardOthers = (context: HookContext) => {
    if (!WRITES.includes(context.method)) unsafeInput(context)
  }
  app.hooks({ around: { create: [guardWrite], update: [guardWrite], patch: [guardWrite], remove: [guardWrite] }, before: { all: [guardOthers] } })
}
