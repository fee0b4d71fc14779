import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, inTransaction, stableOrder, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { getOptions, OrderService } from './orders.class'
import { orderPatchValidator, orderQueryValidator } from './orders.schema'
import { orderMethods, orderPath } from './orders.shared'
import { attachOrderDetails, limitToOwnOrders } from './hooks'

export * from './orders.class'
export * from './orders.schema'

const readers = [authenticated(), limitToOwnOrders()]

export const order = (app: ServiceApplication) => {
  app.use(orderPath, new OrderService(getOptions(app), app), { methods: [...orderMethods], events: [] })
  app.service(orderPath).hooks({
    around: {
      patch: [authenticated(), inTransaction()]
    },
    before: {
      all: [uuidIds(), schemaHooks.validateQuery(orderQueryValidator)],
      find: [...readers, stableOrder()],
      get: [...readers],
      patch: [schemaHooks.validateData(orderPatchValidator)]
    },
    after: {
      find: [attachOrderDetails()],
      get: [attachOrderDetails()],
      patch: [attachOrderDetails()]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [orderPath]: OrderService
  }
}
