import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, inTransaction, requireRole, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { ConversationService } from './conversations.class'
import { conversationDataValidator, conversationPatchValidator, conversationQueryValidator } from './conversations.schema'
import { conversationMethods, conversationPath } from './conversations.shared'
import { retryAfterOnRefusal } from './retry-after'

export * from './conversations.class'
export * from './conversations.schema'

export const conversation = (app: ServiceApplication) => {
  app.use(conversationPath, new ConversationService(app), {
    methods: [...conversationMethods],
    events: [],
    koa: { before: [retryAfterOnRefusal()] }
  })
  app.service(conversationPath).hooks({
    around: {
      find: [authenticated(), requireRole('buyer', 'seller', 'admin')],
      get: [authenticated(), requireRole('buyer', 'seller', 'admin')],
      create: [authenticated(), requireRole('buyer'), inTransaction()],
      patch: [authenticated(), requireRole('buyer', 'seller', 'admin'), inTransaction()]
    },
    before: {
      all: [uuidIds(), schemaHooks.validateQuery(conversationQueryValidator)],
      create: [schemaHooks.validateData(conversationDataValidator)],
      patch: [schemaHooks.validateData(conversationPatchValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [conversationPath]: ConversationService
  }
}
