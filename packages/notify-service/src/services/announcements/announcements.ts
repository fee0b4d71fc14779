import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, authenticatedOrDevice, inTransaction, requireRole, stableOrder, type ServiceApplication } from '@marketmesh/shared'
import { AnnouncementService, getOptions } from './announcements.class'
import { announcementDataValidator, announcementExternalResolver, announcementQueryValidator } from './announcements.schema'
import { announcementMethods, announcementPath } from './announcements.shared'
import { onlyCurrent } from './hooks'
import { announcementPurge } from './purge-ended'

export * from './announcements.class'
export * from './announcements.schema'

export const announcement = (app: ServiceApplication) => {
  app.use(announcementPath, new AnnouncementService(getOptions(app)), { methods: [...announcementMethods], events: [] })
  app.service(announcementPath).hooks({
    around: {
      find: [authenticatedOrDevice(), schemaHooks.resolveExternal(announcementExternalResolver)],
      create: [authenticated(), requireRole('admin'), schemaHooks.resolveExternal(announcementExternalResolver), inTransaction()]
    },
    before: {
      all: [schemaHooks.validateQuery(announcementQueryValidator)],
      find: [onlyCurrent(), stableOrder()],
      create: [schemaHooks.validateData(announcementDataValidator)]
    }
  })
  app.configure(announcementPurge)
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [announcementPath]: AnnouncementService
  }
}
