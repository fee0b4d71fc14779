import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticatedOrDevice, inTransaction, requireRole, stableOrder, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { getOptions, PrintJobService } from './print-jobs.class'
import { printJobDataValidator, printJobExternalResolver, printJobPatchValidator, printJobQueryValidator } from './print-jobs.schema'
import { printJobMethods, printJobPath } from './print-jobs.shared'
import { limitToOwnShop } from './hooks'

export * from './print-jobs.class'
export * from './print-jobs.schema'

const readers = [authenticatedOrDevice(), requireRole('seller', 'device', 'admin'), schemaHooks.resolveExternal(printJobExternalResolver)]

export const printJob = (app: ServiceApplication) => {
  app.use(printJobPath, new PrintJobService(getOptions(app), app), { methods: [...printJobMethods], events: [] })
  app.service(printJobPath).hooks({
    around: {
      find: readers,
      get: readers,
      create: [authenticatedOrDevice(), requireRole('seller'), schemaHooks.resolveExternal(printJobExternalResolver), inTransaction()],
      patch: [authenticatedOrDevice(), requireRole('device'), schemaHooks.resolveExternal(printJobExternalResolver), inTransaction()]
    },
    before: {
      all: [uuidIds(), schemaHooks.validateQuery(printJobQueryValidator)],
      find: [limitToOwnShop(), stableOrder()],
      get: [limitToOwnShop()],
      create: [schemaHooks.validateData(printJobDataValidator)],
      patch: [schemaHooks.validateData(printJobPatchValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [printJobPath]: PrintJobService
  }
}
