import { readCache, type ServiceApplication } from '@marketmesh/shared'
import { category } from './categories/categories'
import { productImages } from './product-images/product-images'
import { product } from './products/products'
import { review } from './reviews/reviews'
import { search } from './search/search'

export const services = (app: ServiceApplication) => {
  // First: the services take it when they are created.
  app.configure(readCache)
  app.configure(category)
  app.configure(product)
  app.configure(productImages)
  app.configure(search)
  app.configure(review)
}
