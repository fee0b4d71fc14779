import type { ServiceApplication } from '@marketmesh/shared'
import { chargeCheckouts } from '../payments/charge'
import { refundOrders } from '../payments/refund'
import { payoutTransfers } from '../payments/transfer'
import { rejectOrder } from './reject-order'
import { startPayment } from './start-payment'
import { orderTimers } from './timers'
import { deleteProduct, updateProduct } from './update-product'
import { updateUser } from './update-user'

// They lock their order (advisory lock per order): each event in a transaction of its own.
const locking = { ownTransaction: true }

/** The handlers of the events this service consumes (its line of EVENT_CONSUMERS), and its side effects and timers. */
export const events = (app: ServiceApplication) => {
  app
    .get('events')
    .on('stock.reserved', startPayment(app), locking)
    .on('stock.rejected', rejectOrder(app), locking)
    .on('product.created', updateProduct, locking)
    .on('product.updated', updateProduct, locking)
    .on('product.deleted', deleteProduct, locking)
    .on('user.registered', updateUser)
    .on('user.updated', updateUser)
  app.configure(chargeCheckouts)
  app.configure(refundOrders)
  app.configure(payoutTransfers)
  app.configure(orderTimers)
}
