import type { NextFunction } from '@feathersjs/feathers'
import { queryPooled } from '@marketmesh/events'
import { durationMs, type Knex, type ServiceHookContext } from '@marketmesh/shared'
import { REPLAYED_HEADER, storeCompletedAnswer } from '../../../hooks/idempotent'
import type { PaymentRow } from '../../../orders/payment'
import { paymentAnswers } from '../../../payments/answers'
import { paymentView, type Checkout } from '../checkouts.class'

/** The wait before the payment is read again while no answer comes in this process (another instance may conclude it); doubled after each read. */
const FIRST_READ_AFTER_MS = 250

const PAYMENT = 'SELECT * FROM payments WHERE id = $1'

/**
 * Around hook, outside the checkout's transaction: once it has committed, the `payment-authorize`
 * side effect it scheduled asks the provider at once (the runner is woken by the commit); the
 * answer waits for that first attempt's outcome, at most `checkoutPaymentWait`, so a buyer whose
 * payment needs confirming gets its `clientSecret` in this answer. Its conclusion in this process
 * hands the payment over (payments/answers.ts); without one it is read after 250 ms, 500 ms, 1 s, …
 * (one concluded by another instance is seen so). Past the wait it answers `authorizing` (GET /checkouts/:id shows the
 * rest): the side effect goes on retrying, so a slow provider or a crash neither loses the
 * authorization nor makes it twice. The answer is stored for the request's Idempotency-Key: its
 * replays get it again.
 */
export const awaitPaymentAnswer = async (context: ServiceHookContext, next: NextFunction) => {
  await next()
  const checkout = context.result as Checkout | undefined
  if (!checkout?.payment || context.http?.headers?.[REPLAYED_HEADER]) return
  const db: Knex = context.app.get('postgresqlClient')
  const answers = paymentAnswers(context.app)
  const deadline = Date.now() + durationMs(context.app.get('checkoutPaymentWait'))
  try {
    for (let readAfterMs = FIRST_READ_AFTER_MS; ; readAfterMs *= 2) {
      // The wait begins in the turn the checkout's commit resolved in, before the authorization's
      // runner can have concluded it here (that takes round trips to PostgreSQL and the provider):
      // an answer concluded here is not missed, and one concluded elsewhere is read when the wait ends.
      const payment =
        (await answers.wait(checkout.payment.id, Math.max(0, Math.min(readAfterMs, deadline - Date.now())))) ??
        (await queryPooled<PaymentRow>(db, PAYMENT, [checkout.payment.id]))[0]
      if (payment.status !== 'authorizing' || Date.now() >= deadline) {
        context.result = { ...checkout, payment: paymentView(payment) }
        return await storeCompletedAnswer(context)
      }
    }
  } catch (error) {
    // The checkout has committed: it is answered as committed (`authorizing`), never with a 500 a retry would take for a failure.
    context.result = checkout
    context.app.get('logger').warn({ checkoutId: checkout.id, err: (error as Error).message }, 'answering a checkout without its payment answer')
  }
}
