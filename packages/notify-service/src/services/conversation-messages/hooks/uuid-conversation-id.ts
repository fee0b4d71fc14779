import type { HookContext } from '@feathersjs/feathers'
import { invalidField, isUuid } from '@marketmesh/shared'

/** The conversation of the route is a UUID, or 400 naming it, before a look-up could fail on its type. */
export const uuidConversationId = () => (context: HookContext) => {
  if (!isUuid(context.params.route?.conversationId)) throw invalidField('conversationId', 'must be a UUID')
}
