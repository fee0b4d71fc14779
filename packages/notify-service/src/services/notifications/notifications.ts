import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticatedOrDevice, stableOrder, type ServiceApplication } from '@marketmesh/shared'
import { getOptions, NotificationService } from './notifications.class'
import { notificationExternalResolver, notificationQueryValidator, notificationResolver } from './notifications.schema'
import { notificationMethods, notificationPath } from './notifications.shared'
import { limitToAudience } from './hooks'

export * from './notifications.class'
export * from './notifications.schema'

export const notification = (app: ServiceApplication) => {
  app.use(notificationPath, new NotificationService(getOptions(app)), { methods: [...notificationMethods], events: [] })
  app.service(notificationPath).hooks({
    around: {
      find: [authenticatedOrDevice(), schemaHooks.resolveExternal(notificationExternalResolver), schemaHooks.resolveResult(notificationResolver)]
    },
    before: {
      find: [schemaHooks.validateQuery(notificationQueryValidator), limitToAudience(), stableOrder({ id: -1 })]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [notificationPath]: NotificationService
  }
}
