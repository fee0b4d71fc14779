import type { HookContext } from '@feathersjs/feathers'
import { invalidField } from '../validators'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (id: unknown) => UUID.test(String(id))

/** For a service whose ids are UUIDs: any other id is a 400 naming it, before a look-up could fail on its type. */
export const uuidIds = () => (context: HookContext) => {
  if (context.id !== undefined && context.id !== null && !isUuid(context.id)) throw invalidField('id', 'must be a UUID')
}
