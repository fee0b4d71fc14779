import type { EventHandler } from '@marketmesh/events'
import { alongsideWrite } from '../log/append'
import { queueOriginal, WITHDRAW_SKIPPED_JOBS, withdrawOrderJobs } from '../printing/print-job'
import { receiptOf } from '../printing/receipt'
import { paidOrderMails } from './mail-order'
import { keepConversationOrder, notifyOrder, orderNotification } from './notify-order'

/**
 * A paid order: its notification and mails, and one original receipt queued for the shop's
 * printers. Its cancellation handled first (see withdrawOrderJobs): the buyer has the
 * cancellation, and neither a confirmation nor a receipt follows it. The notification goes into
 * the log with the receipt's `print.job`, and the mails are scheduled, in the statement that
 * queues the receipt.
 */
export const notifyMailAndPrintPaidOrder: EventHandler<'order.paid'> = async (event, { trx, scheduleAlongside }) => {
  const { sellerId, orderId } = event.data
  await queueOriginal(
    trx,
    { sellerId, orderId, receipt: receiptOf(event.data), eventId: event.id },
    {
      notifications: [orderNotification(event)],
      writes: [keepConversationOrder(event.data)],
      unlessEnded: () => [alongsideWrite(scheduleAlongside(paidOrderMails(event)))]
    }
  )
}

/** A cancelled order: its notification, and its receipts withdrawn from the shop's printers. */
export const notifyAndWithdrawCancelledOrder: EventHandler<'order.cancelled'> = async (event, context) => {
  await notifyOrder(event, context)
  const skipped = await withdrawOrderJobs(context.trx, event)
  if (skipped > 0) await context.schedule(WITHDRAW_SKIPPED_JOBS, event.data.orderId, { orderId: event.data.orderId })
}
