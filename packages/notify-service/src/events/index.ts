import { deviceCredentialHandlers, type ServiceApplication } from '@marketmesh/shared'
import { conversationMail } from '../conversations/mail'
import { mail } from '../mail/mail'
import { printConfirmTimeout } from '../printing/confirm-timeout'
import { withdrawSkipped } from '../printing/withdraw-skipped'
import { endRevokedDeviceStreams } from './end-revoked-device-streams'
import { mailAccountLink } from './mail-account-link'
import { notifyOrderShipped } from './mail-order'
import { notifyOrder } from './notify-order'
import { notifyPayout, notifyPayoutFailed, notifyPayoutReversed } from './notify-payout'
import { notifyUser } from './notify-user'
import { deleteProduct, keepProduct } from './products'
import { notifyAndWithdrawCancelledOrder, notifyMailAndPrintPaidOrder } from './order-receipts'

/** The handlers of the events this service consumes (its line of EVENT_CONSUMERS), and the mail and print timers they schedule. */
export const events = (app: ServiceApplication) => {
  const bus = app.get('events')
  deviceCredentialHandlers(bus, { onRevoked: endRevokedDeviceStreams })
  bus.on('user.registered', notifyUser).on('user.updated', notifyUser)
  const mailLink = mailAccountLink(app)
  bus.on('user.password_reset_requested', mailLink).on('user.email_verification_requested', mailLink)
  bus.on('order.paid', notifyMailAndPrintPaidOrder).on('order.cancelled', notifyAndWithdrawCancelledOrder).on('order.shipped', notifyOrderShipped)
  for (const type of ['order.created', 'order.rejected', 'order.delivered', 'order.completed', 'order.refunded'] as const) {
    bus.on(type, notifyOrder)
  }
  bus.on('product.created', keepProduct).on('product.updated', keepProduct).on('product.deleted', deleteProduct)
  bus.on('payout.paid', notifyPayout).on('payout.reversed', notifyPayoutReversed).on('payout.failed', notifyPayoutFailed)
  app.configure(mail)
  app.configure(conversationMail)
  app.configure(printConfirmTimeout)
  app.configure(withdrawSkipped)
}
