import type { ClientApplication } from '../../client'
import type { SearchQuery, SearchResult, SearchService } from './search.class'

export type { SearchQuery, SearchResult }

export type SearchClientService = Pick<SearchService, (typeof searchMethods)[number]>

export const searchPath = 'search'

export const searchMethods = ['find'] as const

export const searchClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(searchPath, connection.service(searchPath), { methods: [...searchMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [searchPath]: SearchClientService
  }
}
