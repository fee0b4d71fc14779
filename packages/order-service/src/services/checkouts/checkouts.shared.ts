import type { Params } from '@feathersjs/feathers'
import type { ClientApplication } from '../../client'
import type { Checkout, CheckoutData } from './checkouts.schema'

export type { Checkout, CheckoutData }

/** What apps call: a checkout needs its Idempotency-Key header, e.g. `{ headers: { 'Idempotency-Key': key } }`. */
export interface CheckoutClientService {
  create(data: CheckoutData, params: Params & { headers: { 'Idempotency-Key': string } }): Promise<Checkout>
  get(id: string, params?: Params): Promise<Checkout>
}

export const checkoutPath = 'checkouts'

export const checkoutMethods = ['create', 'get'] as const

export const checkoutClient = (client: ClientApplication) => {
  const connection = client.get('connection')
  client.use(checkoutPath, connection.service(checkoutPath), { methods: [...checkoutMethods] })
}

declare module '../../client' {
  interface ServiceTypes {
    [checkoutPath]: CheckoutClientService
  }
}
