import type { Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Review, ReviewData, ReviewQuery, ReviewService } from './reviews.class'

export type { Review, ReviewData, ReviewQuery }

export type ReviewClientService = Pick<ReviewService<Params<ReviewQuery>>, (typeof reviewMethods)[number]>

export const reviewPath = 'reviews'

export const reviewMethods = ['find', 'get', 'create'] as const

export const reviewClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(reviewPath, connection.service(reviewPath), { methods: [...reviewMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [reviewPath]: ReviewClientService
  }
}
