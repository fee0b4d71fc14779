import type { EventHandler } from '@marketmesh/events'
import { appendNotification } from '../log/append'
import { MAIL_EFFECT, type MailPayload } from '../mail/mail'

type PayoutEvent = 'payout.paid' | 'payout.failed' | 'payout.reversed'

/** A payout's news is the seller's alone: one notification on their shop's stream. */
export const notifyPayout: EventHandler<PayoutEvent> = async (event, { trx }) => {
  await appendNotification(trx, { type: event.type, data: event.data, audience: { sellerId: event.data.sellerId }, eventId: event.id })
}

/** A failed payout: its notification, and a mail to the seller (once per payout) to fix their payout account. */
export const notifyPayoutFailed: EventHandler<'payout.failed'> = async (event, context) => {
  await notifyPayout(event, context)
  const { payoutId, sellerId } = event.data
  await context.schedule(MAIL_EFFECT, `payout-failed:${payoutId}`, {
    template: 'payout-failed',
    to: sellerId,
    context: { payout: event.data }
  } satisfies MailPayload)
}
