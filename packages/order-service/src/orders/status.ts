import type { Principal } from '@marketmesh/shared'

/** An order's status, as stored and as the API shows it. */
export const orderStatuses = ['pending', 'paid', 'rejected', 'cancelled', 'shipped', 'delivered', 'completed', 'refunded'] as const
export type OrderStatus = (typeof orderStatuses)[number]

/** A refund's status: `pending` until the provider has paid it back. */
export const refundStatuses = ['pending', 'succeeded', 'failed'] as const
export type RefundStatus = (typeof refundStatuses)[number]

/**
 * Where an order is in the saga: its status, with a pending order whose payment has started told
 * apart as `paying` (only the payment's outcome ends it, paid or cancelled).
 */
export type Stage = OrderStatus | 'paying'

/** Who takes a step: a person by their role, or the system (the saga's event handlers, timers and payments). */
export type Role = Principal['role'] | 'system'

/** Who a step is by when no person took it: the saga and the timers. */
export const SYSTEM = 'system'

/** The saga's named steps; orders/order.ts takes each one. */
export type Step = 'place' | 'reserve' | 'reject' | 'pay' | 'decline' | 'expire' | 'cancel' | 'ship' | 'deliver' | 'complete' | 'refundInFull'

/**
 * Every transition of the order: who may take each step (an admin may take any step a person may),
 * from which stages (none: it makes a new order), and the stage it leads to. Only the money adds
 * checks of its own (orders/order.ts): nothing ships once refunded in full, and a refund, money
 * only until all that was paid is back (then refundInFull), never exceeds what was paid.
 */
export const TRANSITIONS: Record<Step, { from: Stage[]; to: Stage; by: Role[] }> = {
  place: { from: [], to: 'pending', by: ['buyer'] },
  reserve: { from: ['pending'], to: 'paying', by: ['system'] },
  reject: { from: ['pending'], to: 'rejected', by: ['system'] },
  pay: { from: ['paying'], to: 'paid', by: ['system'] },
  decline: { from: ['paying'], to: 'cancelled', by: ['system'] },
  expire: { from: ['pending'], to: 'cancelled', by: ['system'] },
  cancel: { from: ['pending', 'paid'], to: 'cancelled', by: ['buyer', 'seller', 'admin'] },
  ship: { from: ['paid'], to: 'shipped', by: ['seller', 'admin'] },
  deliver: { from: ['shipped'], to: 'delivered', by: ['buyer', 'admin', 'system'] },
  complete: { from: ['delivered'], to: 'completed', by: ['system'] },
  refundInFull: { from: ['paid', 'shipped', 'delivered', 'completed'], to: 'refunded', by: ['system'] }
}

/** The statuses a person asks for in PATCH /orders/:id: the `to` of the steps ship, deliver and cancel. */
export const requestedStatuses = ['shipped', 'delivered', 'cancelled'] as const

/**
 * A checkout's payment, as stored and as the API shows it: `authorizing` until the provider has
 * answered the authorization, `requires_action` while the buyer confirms it (3-D Secure), then
 * `authorized` (held), and at the end `captured`, `voided` (released, nothing captured) or `failed`
 * (and `voided` after all when the provider turns out to hold money for it: see `release`).
 */
export const paymentStatuses = ['authorizing', 'requires_action', 'authorized', 'captured', 'voided', 'failed'] as const
export type PaymentStatus = (typeof paymentStatuses)[number]

export type PaymentStep = 'requireAction' | 'authorize' | 'capture' | 'void' | 'fail' | 'release'

/**
 * Every transition of a checkout's payment, whoever reports it (the provider's answer, its
 * webhook, or a lookup): the payment only moves forward, so a late or repeated report changes
 * nothing. A failure counts only before the payment was authorized (a failed attempt the buyer
 * then retried successfully may be reported after the success). A failed payment's orders are
 * declined for good, so a hold the provider makes for it after all (the authorization's answers
 * lost and a lookup that found nothing yet, or the buyer confirming again after a failed attempt)
 * is a stray one: it is voided at the provider and the payment `release`d.
 */
export const PAYMENT_TRANSITIONS: Record<PaymentStep, { from: PaymentStatus[]; to: PaymentStatus }> = {
  requireAction: { from: ['authorizing'], to: 'requires_action' },
  authorize: { from: ['authorizing', 'requires_action'], to: 'authorized' },
  capture: { from: ['authorizing', 'requires_action', 'authorized'], to: 'captured' },
  void: { from: ['authorizing', 'requires_action', 'authorized'], to: 'voided' },
  fail: { from: ['authorizing', 'requires_action'], to: 'failed' },
  release: { from: ['failed'], to: 'voided' }
}
