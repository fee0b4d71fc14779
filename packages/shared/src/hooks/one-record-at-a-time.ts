import { MethodNotAllowed } from '@feathersjs/errors'
import type { HookContext } from '@feathersjs/feathers'
import { invalidField } from '../validators'

const WITH_BODY = ['create', 'update', 'patch']
const WITH_ID = ['update', 'patch', 'remove']

/**
 * Every method but `find` works on one record: its body is one JSON object (no body at all reached
 * hooks that read fields of it) and its id is given. A list as the body or no id asks for several
 * records at once: schema hooks validate a list item by item, so an empty one passed them. Only an
 * adapter service whose `multi` option allows it takes either; a service that is no adapter (the
 * authentication service's logout is `remove(null)`) decides about a missing id itself.
 */
export const oneRecordAtATime = () => (context: HookContext) => {
  const { method, id, data, self: service } = context
  const multi = service.allowsMulti?.(method, context.params) ?? false
  if (WITH_ID.includes(method) && id === null && service.allowsMulti && !multi) {
    throw new MethodNotAllowed(`${method} takes the id of one record: /${context.path}/:id`)
  }
  if (!WITH_BODY.includes(method)) return
  if (Array.isArray(data)) {
    if (!multi) throw invalidField('body', 'must be one object, not a list')
  } else if (data === null || typeof data !== 'object') {
    throw invalidField('body', 'must be a JSON object')
  }
}
