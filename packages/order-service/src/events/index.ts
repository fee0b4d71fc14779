import { aggregateKey } from '@marketmesh/events'
import type { ServiceApplication } from '@marketmesh/shared'
import { checkoutAggregate } from '../orders/order'
import { chargeCheckouts } from '../payments/charge'
import { refundOrders } from '../payments/refund'
import { payoutTransfers } from '../payments/transfer'
import { rejectOrder } from './reject-order'
import { startPayment } from './start-payment'
import { orderTimers } from './timers'
import { deleteProduct, updateProduct } from './update-product'
import { updateUser } from './update-user'

// The aggregates each handler locks, declared: a batch takes all their locks at its start, so under
// load such events share one transaction and two batches never wait on each other. A reservation's
// outcome locks its checkout's orders, then its payment. The payments' grouped conclusions declare
// the same checkout locks (payments/charge.ts). (A deadlock with a step that locks two checkouts
// at once undeclared, such as grouped timer conclusions, is detected and the batch retried one
// event at a time.)
const checkoutLock = { locks: (event: { data: { checkoutId: string } }) => [checkoutAggregate(event.data.checkoutId)] }
const productLock = { locks: (event: { data: { productId: string } }) => [aggregateKey('product', event.data.productId)] }

/** The handlers of the events this service consumes (its line of EVENT_CONSUMERS), and its side effects and timers. */
export const events = (app: ServiceApplication) => {
  app
    .get('events')
    .on('stock.reserved', startPayment(app), checkoutLock)
    .on('stock.rejected', rejectOrder(app), checkoutLock)
    .on('product.created', updateProduct, productLock)
    .on('product.updated', updateProduct, productLock)
    .on('product.deleted', deleteProduct, productLock)
    .on('user.registered', updateUser)
    .on('user.updated', updateUser)
  app.configure(chargeCheckouts)
  app.configure(refundOrders)
  app.configure(payoutTransfers)
  app.configure(orderTimers)
}
