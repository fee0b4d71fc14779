import { afterCommit, batchedLookup, runInTransaction, withEventCause, type SideEffect } from '@marketmesh/events'
import { type Knex, type ServiceApplication } from '@marketmesh/shared'
import {
  amountToCapture,
  amountToCaptureAtOnce,
  checkoutAggregate,
  lockCheckout,
  paymentAuthorized,
  paymentCaptured,
  paymentFailed,
  paymentNotFound,
  paymentReleased,
  paymentRequiresAction,
  paymentVoided,
  type LockedCheckout,
  type OrderRow
} from '../orders/order'
import {
  AUTHORIZE,
  awaitsOutcome,
  CAPTURE,
  EXPIRE,
  mayRelease,
  paymentKeys,
  RELEASE,
  scheduleRelease,
  SETTLE,
  type PaymentRow,
  type ReleasePayload
} from '../orders/payment'
import { paymentProviders, type Authorization } from '.'
import { paymentAnswers } from './answers'

/** Checkouts' payments with what their calls need: the payment token, and the orders the capture's amount is the sum of. */
const PAYMENTS_OF = `
  SELECT payments.*, checkouts."paymentToken",
         (SELECT coalesce(json_agg(json_build_object('status', status, 'paymentStartedAt', "paymentStartedAt", 'total', total)), '[]')
            FROM orders WHERE "checkoutId" = payments."checkoutId") AS orders
    FROM payments JOIN checkouts ON checkouts.id = payments."checkoutId"
   WHERE payments."checkoutId" = ANY($1::uuid[])`

type PaymentToCall = PaymentRow & { paymentToken: string; orders: Parameters<typeof amountToCapture>[0] }

interface Cause {
  /** The saga's correlation, carried on to the events the payment's outcome emits. */
  correlationId: string
  causationId: string | null
}

type CapturePayload = Cause & { checkoutId: string }

interface SettlePayload extends CapturePayload {
  /** Which call's answers were lost: the authorization, or the capture. */
  phase: 'authorize' | 'capture'
  /** 1 for the first round of lookups; each round that gives up schedules the next. */
  round: number
}

/** A payment's conclusion locks its checkout, the aggregate the reservations' outcomes lock (events/index.ts): declared, so a group of conclusions takes those locks first. */
const checkoutLock = { locks: ({ payload }: SideEffect<{ checkoutId: string }>) => [checkoutAggregate(payload.checkoutId)] }

/**
 * Concludes a checkout's payment: with its orders and payment locked, takes the payment's step
 * (orders/order.ts), which pays or declines its orders; the saga's step durations of the orders it
 * moved are observed. Once committed, a checkout request waiting for the payment's answer here gets it.
 */
export const concludePayment = (
  app: ServiceApplication,
  trx: Knex.Transaction,
  checkoutId: string,
  step: (checkout: LockedCheckout) => Promise<OrderRow[]>
) =>
  lockCheckout(trx, checkoutId).then(async ({ orders, payment, receipts }) => {
    if (!payment) return
    for (const order of await step({ orders, payment, receipts })) {
      app.get('orderMetrics').sagaStep.observe({ step: order.status }, (Date.now() - new Date(order.createdAt).getTime()) / 1000)
    }
    const answered = { ...payment }
    afterCommit(trx, () => paymentAnswers(app).answered(answered))
  })

/**
 * Performs the side effects of a checkout's one payment (and `payment-expire`, the timer voiding
 * one its buyer never confirmed), each call with a stable idempotency key
 * (`<checkoutId>:authorize`, `:capture`, `:void`): a call repeated after a crash or a timeout is
 * answered again by the provider, never charged again. `payment-authorize` (scheduled by `place`,
 * awaited by POST /checkouts) asks the provider to hold the checkout's total, and captures at once
 * when every order has its reservation's outcome by the answer; otherwise `payment-capture` (scheduled
 * once the payment is authorized and every order has its reservation's outcome) captures the
 * reserved orders' totals in one capture (voids the hold when none was reserved). Each answer is
 * concluded with the checkout locked, by the payment's steps in orders/order.ts: a webhook
 * reporting the same outcome meanwhile finds it taken and changes nothing.
 *
 * When every retry has failed, nothing is concluded blindly (the call may have been made and only
 * its answer lost): a `payment-settle` side effect looks the payment up. Captured: the orders are
 * paid. Authorized: after a lost authorization the capture follows; after a lost capture the hold
 * is voided and the orders cancelled. Nothing, failed or voided: cancelled. While the provider
 * cannot answer that either, the orders stay pending with their payment in progress: each round
 * that gives up schedules another, the longest retry delay later, until the provider answers.
 *
 * `payment-release` voids a stray hold of a failed payment (orders/order.ts paymentNotFound,
 * paymentAuthorized): a lookup that found nothing may have lagged behind the authorization, and a
 * buyer may confirm again after a failed attempt. Its rounds go on like the lookup's.
 */
export const chargeCheckouts = (app: ServiceApplication) => {
  const db: Knex = app.get('postgresqlClient')
  const events = app.get('events')
  const providers = paymentProviders(app)
  const { retryDelaysMs, pollIntervalMs } = app.get('sideEffects')
  const settleRoundEvery = Math.max(pollIntervalMs, ...retryDelaysMs)

  // The payment's step in the transaction that marks the effect done, grouped with the others concluding meanwhile.
  const conclude = (
    effect: SideEffect,
    checkoutId: string,
    cause: Cause,
    step: (trx: Knex.Transaction, checkout: LockedCheckout) => Promise<OrderRow[]>
  ) => events.effects.conclude(effect, (trx) => withEventCause(cause, () => concludePayment(app, trx, checkoutId, (checkout) => step(trx, checkout))))

  // The payments of the effects a claim hands over at once, in one read.
  const payments = batchedLookup<PaymentToCall>(db, PAYMENTS_OF, (payment) => payment.checkoutId)
  const paymentOf = (checkoutId: string) => payments.load(checkoutId)

  const concludeAuthorization = (effect: SideEffect, checkoutId: string, cause: Cause, authorization: Authorization) =>
    conclude(effect, checkoutId, cause, (trx, checkout) =>
      authorization.status === 'authorized'
        ? paymentAuthorized(app, trx, checkout, authorization.paymentId, cause)
        : authorization.status === 'requires_action'
          ? paymentRequiresAction(app, trx, checkout, authorization.paymentId, authorization.clientSecret)
          : paymentFailed(app, trx, checkout, authorization.reason)
    )

  // Most checkouts have every reservation's outcome by the provider's answer (read after it): their
  // capture follows in this effect, with its own key (a retried attempt replays both calls), one
  // conclusion and no effect of its own to wait for.
  const authorize = async (effect: SideEffect<{ checkoutId: string }>) => {
    const { id, payload } = effect
    const payment = await paymentOf(payload.checkoutId)
    if (payment?.status !== 'authorizing') return
    const provider = providers[payment.provider]
    const keys = paymentKeys(payment.checkoutId)
    const cause = { correlationId: id, causationId: null }
    const authorization = await provider.authorize({
      idempotencyKey: keys.authorize,
      token: payment.paymentToken,
      amount: payment.amount,
      currency: payment.currency,
      transferGroup: payment.checkoutId
    })
    const amount = authorization.status === 'authorized' ? await amountToCaptureAtOnce(db, payment.checkoutId) : 0
    if (authorization.status === 'authorized' && amount > 0) {
      const { paymentId } = authorization
      const { captureId } = await provider.capture({ idempotencyKey: keys.capture, paymentId, amount, currency: payment.currency })
      return conclude(effect, payment.checkoutId, cause, (trx, checkout) => paymentCaptured(app, trx, checkout, { paymentId, captureId }))
    }
    await concludeAuthorization(effect, payment.checkoutId, cause, authorization)
  }

  const voidAndConclude = async (effect: SideEffect, payment: PaymentRow, paymentId: string, cause: Cause) => {
    await providers[payment.provider].void({ idempotencyKey: paymentKeys(payment.checkoutId).void, paymentId })
    await conclude(effect, payment.checkoutId, cause, (trx, checkout) => paymentVoided(app, trx, checkout))
  }

  const capture = async (effect: SideEffect<CapturePayload>) => {
    const { payload } = effect
    const payment = await paymentOf(payload.checkoutId)
    const paymentId = payment?.status === 'authorized' ? payment.paymentId : null
    if (!payment || !paymentId) return
    const amount = amountToCapture(payment.orders)
    if (amount === 0) return voidAndConclude(effect, payment, paymentId, payload)
    const { captureId } = await providers[payment.provider].capture({
      idempotencyKey: paymentKeys(payment.checkoutId).capture,
      paymentId,
      amount,
      currency: payment.currency
    })
    await conclude(effect, payment.checkoutId, payload, (trx, checkout) => paymentCaptured(app, trx, checkout, { paymentId, captureId }))
  }

  const settle = async (effect: SideEffect<SettlePayload>) => {
    const { payload } = effect
    const payment = await paymentOf(payload.checkoutId)
    if (!payment || !awaitsOutcome(payment)) return
    const state = await providers[payment.provider].lookup({
      paymentId: payment.paymentId ?? undefined,
      idempotencyKey: paymentKeys(payment.checkoutId).authorize
    })
    const on = (step: (trx: Knex.Transaction, checkout: LockedCheckout) => Promise<OrderRow[]>) => conclude(effect, payment.checkoutId, payload, step)
    switch (state.status) {
      case 'captured':
        return on((trx, checkout) => paymentCaptured(app, trx, checkout, { paymentId: state.paymentId, captureId: state.captureId }))
      case 'authorized':
        if (payload.phase === 'authorize') return on((trx, checkout) => paymentAuthorized(app, trx, checkout, state.paymentId, payload))
        return voidAndConclude(effect, payment, state.paymentId, payload)
      case 'requires_action':
        return on((trx, checkout) => paymentRequiresAction(app, trx, checkout, state.paymentId, null))
      case 'voided':
        return on((trx, checkout) => paymentVoided(app, trx, checkout))
      case 'failed':
        return on((trx, checkout) => paymentFailed(app, trx, checkout, state.reason))
      default:
        return on((trx, checkout) => paymentNotFound(app, trx, checkout, payload))
    }
  }

  // A hold the provider has for a failed payment (found by id, or by the authorization's key) is
  // voided; nothing held (not found, never confirmed, voided already): nothing to do.
  const release = async (effect: SideEffect<ReleasePayload>) => {
    const { payload } = effect
    const payment = await paymentOf(payload.checkoutId)
    if (!payment || !mayRelease(payment)) return
    const state = await providers[payment.provider].lookup({
      paymentId: payload.paymentId ?? payment.paymentId ?? undefined,
      idempotencyKey: paymentKeys(payment.checkoutId).authorize
    })
    if (state.status !== 'authorized') return
    await providers[payment.provider].void({ idempotencyKey: paymentKeys(payment.checkoutId).void, paymentId: state.paymentId })
    await conclude(effect, payment.checkoutId, payload, (trx, checkout) => paymentReleased(app, trx, checkout, state.paymentId))
  }

  // The buyer never confirmed the payment: the hold is released (a confirmation arriving meanwhile
  // is voided with it), the orders declined.
  const expire = async (effect: SideEffect<{ checkoutId: string }>) => {
    const { id, payload } = effect
    const payment = await paymentOf(payload.checkoutId)
    if (payment?.status !== 'requires_action' || !payment.paymentId) return
    await voidAndConclude(effect, payment, payment.paymentId, { correlationId: id, causationId: null })
  }

  const scheduleSettle = (payload: CapturePayload, phase: SettlePayload['phase'], round: number, delayMs: number) =>
    runInTransaction(db, async (trx) => {
      const { checkoutId, correlationId, causationId } = payload
      const next: SettlePayload = { checkoutId, correlationId, causationId, phase, round }
      await events.effects.schedule(trx, SETTLE, `${checkoutId}:${phase}:${round}`, next, { delayMs })
    })

  events.effects
    .perform<{ checkoutId: string }>(AUTHORIZE, authorize, {
      ...checkoutLock,
      onGiveUp: ({ id, payload }) => scheduleSettle({ checkoutId: payload.checkoutId, correlationId: id, causationId: null }, 'authorize', 1, 0)
    })
    .perform<CapturePayload>(CAPTURE, capture, { ...checkoutLock, onGiveUp: ({ payload }) => scheduleSettle(payload, 'capture', 1, 0) })
    .perform<{ checkoutId: string }>(EXPIRE, expire, checkoutLock)
    .perform<SettlePayload>(SETTLE, settle, {
      ...checkoutLock,
      onGiveUp: ({ payload }) => scheduleSettle(payload, payload.phase, payload.round + 1, settleRoundEvery)
    })
    .perform<ReleasePayload>(RELEASE, release, {
      ...checkoutLock,
      onGiveUp: ({ payload }) =>
        runInTransaction(db, (trx) => scheduleRelease(events.effects, trx, { ...payload, round: payload.round + 1 }, settleRoundEvery))
    })
}
