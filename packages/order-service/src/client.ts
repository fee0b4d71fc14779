import { feathers, type Application, type TransportConnection } from '@feathersjs/feathers'
import { checkoutClient } from './services/checkouts/checkouts.shared'
import { orderClient } from './services/orders/orders.shared'

export type { Checkout, CheckoutData, CheckoutClientService } from './services/checkouts/checkouts.shared'
export type { Order, OrderQuery, OrderClientService } from './services/orders/orders.shared'

export interface Configuration {
  connection: TransportConnection<ServiceTypes>
}

export interface ServiceTypes {}

export type ClientApplication = Application<ServiceTypes, Configuration>

/**
 * The typed client of order-service. Authenticate by giving the connection the access token:
 *   createClient(rest(url).fetch(fetch, { headers: { Authorization: `Bearer ${accessToken}` } }))
 */
export const createClient = (connection: TransportConnection<ServiceTypes>) => {
  const client: ClientApplication = feathers()
  client.configure(connection)
  client.set('connection', connection)
  client.configure(checkoutClient)
  client.configure(orderClient)
  return client
}
