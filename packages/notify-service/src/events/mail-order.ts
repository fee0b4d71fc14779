import type { EventEnvelope, EventHandler, HandlerContext } from '@marketmesh/events'
import { MAIL_EFFECT, type MailPayload } from '../mail/mail'
import { notifyOrder } from './notify-order'

/** A paid order's mails: the buyer's confirmation and the seller's notice, each mailed once after commit. */
export const mailPaidOrder = async (event: EventEnvelope<'order.paid'>, { scheduleAll }: HandlerContext) => {
  const { orderId, buyerId, sellerId, shopName } = event.data
  const shown = { order: event.data, shop: shopName ?? 'marketmesh' }
  const mails: Array<{ kind: typeof MAIL_EFFECT; key: string; payload: MailPayload }> = [
    { kind: MAIL_EFFECT, key: `order-confirmation:${orderId}`, payload: { template: 'order-confirmation', to: buyerId, context: shown } },
    { kind: MAIL_EFFECT, key: `new-order:${orderId}`, payload: { template: 'new-order', to: sellerId, context: shown } }
  ]
  await scheduleAll(mails)
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
