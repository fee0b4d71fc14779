import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticatedOrDevice, requireRole, type ServiceApplication } from '@marketmesh/shared'
import { PrinterService } from './printers.class'
import { printerQueryValidator } from './printers.schema'
import { printerMethods, printerPath } from './printers.shared'

export * from './printers.class'
export * from './printers.schema'

export const printer = (app: ServiceApplication) => {
  app.use(printerPath, new PrinterService(app), { methods: [...printerMethods], events: [] })
  app.service(printerPath).hooks({
    around: {
      find: [authenticatedOrDevice(), requireRole('seller')]
    },
    before: {
      all: [schemaHooks.validateQuery(printerQueryValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [printerPath]: PrinterService
  }
}
