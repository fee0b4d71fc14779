import type { HookContext, Params } from '@feathersjs/feathers'
import { invalidField } from '../validators'

interface MultiAware {
  allowsMulti?: (method: string, params: Params) => boolean
}

/**
 * A list as the body asks for several records at once. Schema hooks validate its items one by one,
 * so an empty list passes them, and the hooks after, written for one record, read fields of nothing:
 * a service refuses it unless it opted in with the adapter's `multi` option.
 */
export const oneRecordAtATime = () => (context: HookContext) => {
  if (!Array.isArray(context.data) || (context.self as MultiAware).allowsMulti?.(context.method, context.params)) return
  throw invalidField('body', 'must be one object, not a list')
}
