import { runInTransaction, type SideEffect } from '@marketmesh/events'
import { type Knex, type ServiceApplication } from '@marketmesh/shared'
import {
  payoutPaid,
  reversalKey,
  REVERSE_TRANSFER,
  TRANSFER,
  transferKey,
  transferRefused,
  transferReversed,
  type PayoutRow
} from '../payouts/payout'
import { paymentProviders, PaymentUnavailableError } from '.'

/** Effects scheduled before the order was named in them have no `orderId`. */
interface TransferPayload {
  payoutId: string
  orderId?: string
}

interface ReversalPayload extends TransferPayload {
  refundId: string
  amount: number
}

/** A reversal due before its payout's transfer was made: it waits for the transfer. */
class TransferUnderWay extends Error {
  override name = 'TransferUnderWay'
}

/**
 * Performs the payouts' side effects (payouts/payout.ts). `payout-transfer`: the payout's amount
 * from the order's captured payment (`sourcePaymentId`, grouped by its checkout) to the seller's
 * account, keyed `<payoutId>:transfer`, so a retry after a crash or a lost answer is the same
 * transfer; a provider that cannot answer is asked again later with that key (also after the last
 * retry: a transfer that may have been made is never given up as failed), one that refuses fails
 * the payout. `payout-reverse`: a refund's share back from a paid transfer, keyed `<refundId>:reverse`;
 * like the transfer, one the provider could not answer (or whose transfer is not made yet) is asked
 * again later with its key, past the last retry too: a reversal refused stays failed, for operators.
 */
export const payoutTransfers = (app: ServiceApplication) => {
  const db: Knex = app.get('postgresqlClient')
  const events = app.get('events')
  const providers = paymentProviders(app)
  const { retryDelaysMs, pollIntervalMs } = app.get('sideEffects')
  const againAfter = Math.max(pollIntervalMs, ...retryDelaysMs)

  const transfer = async (effect: SideEffect<TransferPayload>) => {
    const { payload } = effect
    const payout: (PayoutRow & { paymentId: string; checkoutId: string }) | undefined = await db('payouts')
      .join('orders', 'orders.id', 'payouts.orderId')
      .where({ 'payouts.id': payload.payoutId, 'payouts.status': 'pending' })
      .first('payouts.*', 'orders.paymentId', 'orders.checkoutId')
    if (!payout?.accountId) return
    let transferId: string
    try {
      ;({ transferId } = await providers[payout.provider].transfer({
        idempotencyKey: transferKey(payout.id),
        accountId: payout.accountId,
        amount: payout.amount,
        currency: payout.currency,
        transferGroup: payout.checkoutId,
        sourcePaymentId: payout.paymentId
      }))
    } catch (error) {
      if (error instanceof PaymentUnavailableError) throw error
      return events.effects.conclude(effect, (trx) => transferRefused(app, trx, payout.id, (error as Error).message))
    }
    await events.effects.conclude(effect, (trx) => payoutPaid(app, trx, payout.id, transferId))
  }

  const reverse = async (effect: SideEffect<ReversalPayload>) => {
    const { payload } = effect
    const payout: PayoutRow | undefined = await db('payouts').where({ id: payload.payoutId }).first()
    // A failed transfer gave everything back already.
    if (!payout || payout.status === 'failed') return
    // The transfer is still under way: its reversal waits for it (a retry).
    if (!payout.reference) throw new TransferUnderWay(`payout ${payout.id}: its transfer is not made yet`)
    await providers[payout.provider].reverseTransfer({
      idempotencyKey: reversalKey(payload.refundId),
      transferId: payout.reference,
      amount: payload.amount
    })
    await events.effects.conclude(effect, (trx) => transferReversed(app, trx, payload))
  }

  events.effects
    .perform<TransferPayload>(TRANSFER, transfer, {
      onGiveUp: ({ payload }) =>
        runInTransaction(db, async (trx) => {
          await events.effects.schedule(trx, TRANSFER, `${payload.payoutId}:${Date.now()}`, payload, { delayMs: againAfter })
        })
    })
    .perform<ReversalPayload>(REVERSE_TRANSFER, reverse, {
      onGiveUp: async ({ payload }, error) => {
        if (!(error instanceof PaymentUnavailableError || error instanceof TransferUnderWay)) return
        await runInTransaction(db, (trx) =>
          events.effects.schedule(trx, REVERSE_TRANSFER, `${payload.refundId}:${Date.now()}`, payload, { delayMs: againAfter })
        )
      }
    })
}
