import type { SideEffects } from '@marketmesh/events'
import type { Knex } from '@marketmesh/shared'
import { PAYMENT_TRANSITIONS, type PaymentStatus, type PaymentStep } from './status'

/** A checkout's one payment (orders/order.ts takes its steps with the checkout's orders). */
export interface PaymentRow {
  id: string
  checkoutId: string
  provider: string
  /** The provider's id of the payment, once it has answered. */
  paymentId: string | null
  status: PaymentStatus
  amount: number
  captured: number
  refunded: number
  currency: string
  clientSecret: string | null
  captureId: string | null
  failureReason: string | null
  createdAt: Date
  updatedAt: Date
}

/** The side effects of a checkout's payment (performed by payments/charge.ts). */
export const AUTHORIZE = 'payment-authorize'
export const CAPTURE = 'payment-capture'
/** Asks the provider what became of a payment whose answers were lost past every retry. */
export const SETTLE = 'payment-settle'
/** At ORDER_PENDING_TIMEOUT: a payment its buyer never confirmed is voided, and its orders declined (their stock given back). */
export const EXPIRE = 'payment-expire'
/**
 * Looks up a failed payment the provider may hold money for after all and voids that hold: at once
 * when the provider reports an authorization of it, and, when a lookup found nothing (its lag), again later.
 */
export const RELEASE = 'payment-release'

export interface ReleasePayload {
  checkoutId: string
  /** The provider's id of the hold when it reported one; else the payment is looked up by its authorization's key. */
  paymentId: string | null
  /** What made it look: the provider reported an authorization, or a lookup found nothing and may have lagged. */
  cause: 'reported' | 'lookup'
  /** 1 for the first round; each round that gives up (the provider unavailable) schedules the next. */
  round: number
  /** The saga's correlation, carried on. */
  correlationId: string
  causationId: string | null
}

/** Schedules a round of `payment-release`, `delayMs` from now: one per checkout, cause and round. */
export const scheduleRelease = async (effects: SideEffects, trx: Knex.Transaction, payload: ReleasePayload, delayMs: number) => {
  await effects.schedule(trx, RELEASE, `${payload.checkoutId}:${payload.cause}:${payload.round}`, payload, { delayMs })
}

/** The idempotency keys of a checkout's payment calls: one per checkout and step. */
export const paymentKeys = (checkoutId: string) => ({
  authorize: `${checkoutId}:authorize`,
  capture: `${checkoutId}:capture`,
  void: `${checkoutId}:void`
})

/** Whether the payment still waits for its outcome (captured, voided or failed): the provider is asked only then. */
export const awaitsOutcome = (payment: Pick<PaymentRow, 'status'>) => PAYMENT_TRANSITIONS.capture.from.includes(payment.status)

/** Whether a hold the provider has for the payment is a stray one, to be released: the payment failed, its orders declined. */
export const mayRelease = (payment: Pick<PaymentRow, 'status'>) => PAYMENT_TRANSITIONS.release.from.includes(payment.status)

/** Writes of the same step run as CTEs of the statement that moves an order or a payment, in order (`statement.with(name, write)`). */
export type WritesAlongside = Array<[name: string, write: Knex.QueryBuilder | Knex.Raw]>

/**
 * The payment's move by `step`, when PAYMENT_TRANSITIONS allow it: its UPDATE, not yet run (to run
 * itself, or alongside another statement), the row taking its new state; else undefined.
 */
export const paymentMove = (trx: Knex.Transaction, payment: PaymentRow, step: PaymentStep, changes: Partial<PaymentRow> = {}) => {
  const rule = PAYMENT_TRANSITIONS[step]
  if (!rule.from.includes(payment.status)) return undefined
  const moved = trx('payments')
    .where({ id: payment.id })
    .update({ ...changes, status: rule.to, updatedAt: trx.fn.now() })
  Object.assign(payment, changes, { status: rule.to })
  return moved
}

/** Moves the payment by `step` when PAYMENT_TRANSITIONS allow it, with the writes `alongside` in the same statement: whether it moved. */
export const movePayment = async (
  trx: Knex.Transaction,
  payment: PaymentRow,
  step: PaymentStep,
  changes: Partial<PaymentRow> = {},
  alongside: WritesAlongside = []
) => {
  const moved = paymentMove(trx, payment, step, changes)
  if (!moved) return false
  for (const [name, write] of alongside) moved.with(name, write)
  await moved
  return true
}
