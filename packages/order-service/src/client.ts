import { feathers, type Application, type TransportConnection } from '@feathersjs/feathers'
import { checkoutClient } from './services/checkouts/checkouts.shared'
import { ledgerClient } from './services/ledger/ledger.shared'
import { orderClient } from './services/orders/orders.shared'
import { refundClient } from './services/refunds/refunds.shared'

export type { Checkout, CheckoutData, CheckoutClientService } from './services/checkouts/checkouts.shared'
export type { LedgerView, LedgerClientService } from './services/ledger/ledger.shared'
export type { Order, OrderPatch, OrderQuery, OrderClientService } from './services/orders/orders.shared'
export type { Refund, RefundData, RefundQuery, RefundClientService } from './services/refunds/refunds.shared'

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
  client.configure(refundClient)
  client.configure(ledgerClient)
  return client
}
