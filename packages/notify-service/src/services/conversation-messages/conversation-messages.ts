import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, inTransaction, requireRole, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { retryAfterOnRefusal } from '../conversations/retry-after'
import { ConversationMessageService } from './conversation-messages.class'
import { messageDataValidator, messagePatchValidator, messageQueryValidator } from './conversation-messages.schema'
import { conversationMessageMethods, conversationMessagePath } from './conversation-messages.shared'
import { uuidConversationId } from './hooks'

export * from './conversation-messages.class'
export * from './conversation-messages.schema'

export const conversationMessage = (app: ServiceApplication) => {
  app.use(conversationMessagePath, new ConversationMessageService(app), {
    methods: [...conversationMessageMethods],
    events: [],
    koa: { before: [retryAfterOnRefusal()] }
  })
  app.service(conversationMessagePath).hooks({
    around: {
      find: [authenticated(), requireRole('buyer', 'seller', 'admin')],
      // Who may post or hide (a party, an admin) is decided on the conversation: anyone else gets 404.
      create: [authenticated(), requireRole('buyer', 'seller', 'admin'), inTransaction()],
      patch: [authenticated(), requireRole('buyer', 'seller', 'admin'), inTransaction()]
    },
    before: {
      all: [uuidConversationId(), uuidIds(), schemaHooks.validateQuery(messageQueryValidator)],
      create: [schemaHooks.validateData(messageDataValidator)],
      patch: [schemaHooks.validateData(messagePatchValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [conversationMessagePath]: ConversationMessageService
  }
}
