import { tombstoneOf, type EventHandler } from '@marketmesh/events'
import { lockLog } from '../log/append'
import { queueOriginal, WITHDRAW_SKIPPED_JOBS, withdrawOrderJobs } from '../printing/print-job'
import { receiptOf } from '../printing/receipt'
import { notifyOrderPaid } from './mail-order'
import { notifyOrder } from './notify-order'

/** A paid order: its notification and mails, and one original receipt queued for the shop's printers. */
export const notifyMailAndPrintPaidOrder: EventHandler<'order.paid'> = async (event, context) => {
  // Its cancellation handled first (see withdrawOrderJobs): the buyer has the cancellation, and
  // neither a confirmation nor a receipt follows it.
  await lockLog(context.trx)
  if (await tombstoneOf(context.trx, 'order', event.data.orderId)) return notifyOrder(event, context)
  await notifyOrderPaid(event, context)
  const { sellerId, orderId } = event.data
  await queueOriginal(context.trx, { sellerId, orderId, receipt: receiptOf(event.data), eventId: event.id })
}

/** A cancelled order: its notification, and its receipts withdrawn from the shop's printers. */
export const notifyAndWithdrawCancelledOrder: EventHandler<'order.cancelled'> = async (event, context) => {
  await notifyOrder(event, context)
  const skipped = await withdrawOrderJobs(context.trx, event)
  if (skipped > 0) await context.schedule(WITHDRAW_SKIPPED_JOBS, event.data.orderId, { orderId: event.data.orderId })
}
