import { hooks as schemaHooks } from '@feathersjs/schema'
import type { ServiceApplication } from '@marketmesh/shared'
import { getOptions, SearchService } from './search.class'
import { searchQueryValidator } from './search.schema'
import { searchMethods, searchPath } from './search.shared'

export * from './search.class'
export * from './search.schema'

export const search = (app: ServiceApplication) => {
  app.use(searchPath, new SearchService(getOptions(app)), { methods: [...searchMethods], events: [] })
  app.service(searchPath).hooks({
    before: {
      find: [schemaHooks.validateQuery(searchQueryValidator)]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    [searchPath]: SearchService
  }
}
