import type { EventHandler } from '@marketmesh/events'
import { appendNotification } from '../log/append'
import { MAIL_EFFECT, type MailPayload } from '../mail/mail'

type PayoutEvent = 'payout.paid' | 'payout.failed' | 'payout.reversed'

/** A payout's news is the seller's alone: one notification on their shop's stream. */
export const notifyPayout: EventHandler<PayoutEvent> = async (event, { trx }) => {
  await appendNotification(trx, { type: event.type, data: event.data, audience: { sellerId: event.data.sellerId }, eventId: event.id })
}

/**
 * A payout the provider took (part of) back: its notification, and, as for a failed one, a mail to
 * the seller, once per reversal (the payout's version), since the money is back in their balance
 * until their account is enabled again. One taken back for a refund is the refund's: no mail.
 */
export const notifyPayoutReversed: EventHandler<'payout.reversed'> = async (event, context) => {
  await notifyPayout(event, context)
  const { payoutId, version, sellerId, reason } = event.data
  if (reason !== 'provider') return
  await context.schedule(MAIL_EFFECT, `payout-reversed:${payoutId}:${version}`, {
    template: 'payout-reversed',
    to: sellerId,
    context: { payout: event.data }
  } satisfies MailPayload)
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
