import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, inTransaction, requireRole, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { getOptions, RefundService } from './refunds.class'
import { refundDataValidator, refundQueryValidator } from './refunds.schema'
import { refundMethods, refundPath } from './refunds.shared'

export * from './refunds.class'
export * from './refunds.schema'

const admins = [authenticated(), requireRole('admin')]

export const refund = (app: ServiceApplication) => {
  app.use(refundPath, new RefundService(getOptions(app), app), { methods: [...refundMethods], events: [] })
  app.service(refundPath).hooks({
    around: {
      create: [...admins, inTransaction()]
    },
    before: {
      all: [uuidIds(), schemaHooks.validateQuery(refundQueryValidator)],
      find: [...admins],
      create: [schemaHooks.validateData(refundDataValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [refundPath]: RefundService
  }
}
