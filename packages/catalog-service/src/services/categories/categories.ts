import { hooks as schemaHooks } from '@feathersjs/schema'
import { authenticated, requireRole, stableOrder, uuidIds, type ServiceApplication } from '@marketmesh/shared'
import { CategoryService, getOptions } from './categories.class'
import { categoryDataValidator, categoryPatchResolver, categoryPatchValidator, categoryQueryValidator } from './categories.schema'
import { categoryMethods, categoryPath } from './categories.shared'
import { dropCategories, refuseRemovingUsed, requireKnownParent } from './hooks'

export * from './categories.class'
export * from './categories.schema'

const admins = [authenticated(), requireRole('admin')]

export const category = (app: ServiceApplication) => {
  app.use(categoryPath, new CategoryService(getOptions(app)), { methods: [...categoryMethods], events: [] })
  app.service(categoryPath).hooks({
    before: {
      all: [uuidIds(), schemaHooks.validateQuery(categoryQueryValidator)],
      find: [stableOrder({ name: 1 })],
      create: [...admins, schemaHooks.validateData(categoryDataValidator), requireKnownParent()],
      patch: [...admins, schemaHooks.validateData(categoryPatchValidator), requireKnownParent(), schemaHooks.resolveData(categoryPatchResolver)],
      remove: [...admins, refuseRemovingUsed()]
    },
    after: {
      create: [dropCategories()],
      patch: [dropCategories()],
      remove: [dropCategories()]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [categoryPath]: CategoryService
  }
}
