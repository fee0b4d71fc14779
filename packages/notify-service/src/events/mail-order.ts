import type { EventEnvelope, EventHandler, ScheduledEffect } from '@marketmesh/events'
import { MAIL_EFFECT, type MailPayload } from '../mail/mail'
import { notifyOrder } from './notify-order'

/** A paid order's mails: the buyer's confirmation and the seller's notice, each mailed once after commit. */
export const paidOrderMails = (event: EventEnvelope<'order.paid'>): ScheduledEffect[] => {
  const { orderId, buyerId, sellerId, shopName } = event.data
  const shown = { order: event.data, shop: shopName ?? 'marketmesh' }
  const mail = (key: string, payload: MailPayload) => ({ kind: MAIL_EFFECT, key, payload })
  return [
    mail(`order-confirmation:${orderId}`, { template: 'order-confirmation', to: buyerId, context: shown }),
    mail(`new-order:${orderId}`, { template: 'new-order', to: sellerId, context: shown })
  ]
}

/** A shipped order: its notification and the buyer's shipping notice. */
export const notifyOrderShipped: EventHandler<'order.shipped'> = async (event, context) => {
  await notifyOrder(event, context)
  const { orderId, buyerId } = event.data
  await context.schedule(MAIL_EFFECT, `order-shipped:${orderId}`, {
    template: 'order-shipped',
    to: buyerId,
    context: { order: event.data }
  } satisfies MailPayload)
}
