import { feathers, type Application, type TransportConnection } from '@feathersjs/feathers'
import { categoryClient } from './services/categories/categories.shared'
import { productClient } from './services/products/products.shared'
import { reviewClient } from './services/reviews/reviews.shared'
import { searchClient } from './services/search/search.shared'

export type { Category, CategoryData, CategoryPatch, CategoryQuery } from './services/categories/categories.shared'
export type { Product, ProductData, ProductPatch, ProductQuery } from './services/products/products.shared'
export type { Review, ReviewData, ReviewQuery } from './services/reviews/reviews.shared'
export type { SearchQuery, SearchResult } from './services/search/search.shared'

export interface Configuration {
  connection: TransportConnection<ServiceTypes>
}

export interface ServiceTypes {}

export type ClientApplication = Application<ServiceTypes, Configuration>

/**
 * The typed client of catalog-service. Authenticate by giving the connection the access token:
 *   createClient(rest(url).fetch(fetch, { headers: { Authorization: `Bearer ${accessToken}` } }))
 */
export const createClient = (connection: TransportConnection<ServiceTypes>) => {
  const client: ClientApplication = feathers()
  client.configure(connection)
  client.set('connection', connection)
  client.configure(categoryClient)
  client.configure(productClient)
  client.configure(searchClient)
  client.configure(reviewClient)
  return client
}
