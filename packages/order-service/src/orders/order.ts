/**
 * The order aggregate: the saga's steps, each checking TRANSITIONS (./status.ts), moving the order,
 * writing its timeline and emitting its event, in the caller's transaction with the order locked.
 * The adapters that take them keep their I/O and check nothing the table owns:
 *
 * - place: POST /checkouts (services/checkouts/checkouts.class.ts), with a pending timeout timer
 * - reserve, reject: `stock.reserved` and `stock.rejected` (events/start-payment.ts, events/reject-order.ts)
 * - the checkout's payment (paymentAuthorized, paymentRequiresAction, paymentCaptured,
 *   paymentVoided, paymentFailed, paymentNotFound, paymentReleased), which pay or decline its
 *   orders: the payment side effects (payments/charge.ts) and the provider's webhooks (services/payment-webhooks)
 * - expire, deliver, complete: the timers (events/timers.ts)
 * - ship, deliver, cancel: PATCH /orders/:id (services/orders/orders.class.ts)
 * - refund: POST /refunds (services/refunds/refunds.class.ts) and the cancel of a paid order;
 *   payBack: the `refund` side effect (payments/refund.ts), `refunded` once all is paid back
 *
 * Direction: services/, events/ and payments/ → orders/ → ledger/ and @marketmesh/shared.
 */
import { randomUUID } from 'node:crypto'
import { Conflict, Forbidden } from '@feathersjs/errors'
import { aggregateKey, queryInTransaction, queryPooled, type EventData, type EventType, type ScheduledEffect } from '@marketmesh/events'
import { durationMs, invalidField, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { holdPayment, refundToBuyer, releaseEscrow } from '../ledger/ledger'
import { openPayout, reverseForRefund } from '../payouts/payout'
import {
  AUTHORIZE,
  CAPTURE,
  EXPIRE,
  mayRelease,
  movePayment,
  paymentMove,
  scheduleRelease,
  type PaymentRow,
  type ReleasePayload,
  type WritesAlongside
} from './payment'
import {
  PAYMENT_TRANSITIONS,
  SYSTEM,
  TRANSITIONS,
  type OrderStatus,
  type PaymentStep,
  type RefundStatus,
  type Role,
  type Stage,
  type Step
} from './status'

export interface OrderRow {
  id: string
  checkoutId: string
  buyerId: string
  sellerId: string
  status: OrderStatus
  total: number
  currency: string
  buyerName: string
  shopName: string | null
  paymentId: string | null
  paymentStartedAt: Date | null
  /** 1 when placed, one more per change: what its events carry. */
  version: number
  createdAt: Date
}

export interface RefundRow {
  id: string
  orderId: string
  amount: number
  currency: string
  reason: string
  by: string
  status: RefundStatus
  refundReference: string | null
  createdAt: Date
}

/** Who takes a step: a person (their user id and role), or the system. */
export interface Actor {
  id: string
  role: Role
}

export const BY_SYSTEM: Actor = { id: SYSTEM, role: 'system' }

// The saga's locks, taken on every event and request of an order: written once as SQL, not built per call.
const LOCK_ORDER = 'SELECT * FROM orders WHERE id = $1 FOR NO KEY UPDATE'
const LOCK_CHECKOUT_PAYMENT = 'SELECT * FROM payments WHERE "checkoutId" = $1 LIMIT 1 FOR NO KEY UPDATE'
// A checkout's orders as its payment weighs them: their stages, and their totals for a capture.
const CHECKOUT_ORDER_STAGES = 'SELECT status, "paymentStartedAt", total FROM orders WHERE "checkoutId" = $1'
// A checkout's orders by id, then its payment, in one round trip: the payment's scan waits for the
// count of every order locked, so the locks are taken in the order every path takes them. With each
// order, its receipt (its lines and the checkout's shipping address, unchanged since placing): a
// capture's `order.paid` carries it, and it comes with the lock rather than in a read of its own.
const LOCK_CHECKOUT = `
  WITH locked_orders AS (SELECT * FROM orders WHERE "checkoutId" = $1 ORDER BY id FOR NO KEY UPDATE),
       locked_payment AS (SELECT * FROM payments WHERE "checkoutId" = $1 AND (SELECT count(*) FROM locked_orders) > 0 LIMIT 1 FOR NO KEY UPDATE)
  SELECT locked_orders.*, (SELECT row_to_json(locked_payment) FROM locked_payment) AS "lockedPayment",
         (SELECT "shippingAddress" FROM checkouts WHERE id = $1) AS "receiptShippingAddress",
         (SELECT json_agg(json_build_object('productId', "productId", 'title', title, 'quantity', quantity, 'unitPrice', "unitPrice") ORDER BY "productId")
            FROM order_lines WHERE "orderId" = locked_orders.id) AS "receiptLines"
    FROM locked_orders ORDER BY id`

/** The side effects and timers the steps schedule (performed by payments/ and events/timers.ts). */
export const REFUND = 'refund'
export const PENDING_TIMEOUT = 'order-pending-timeout'
export const AUTO_DELIVER = 'order-auto-deliver'
export const RELEASE_ESCROW = 'order-release-escrow'

/**
 * The order, with every other handler, timer and request for it waiting until `trx` ends: the
 * one way the saga, the timers and the API read an order they are about to change.
 */
export const lockOrder = async (trx: Knex.Transaction, orderId: string): Promise<OrderRow | undefined> =>
  // The row lock, unlike an advisory one taken before the read, gives the read the row as the
  // last holder committed it, in one round trip; NO KEY leaves the inserts referencing the order free.
  (await queryInTransaction<OrderRow>(trx, LOCK_ORDER, [orderId]))[0]

const stageOf = (order: Pick<OrderRow, 'status' | 'paymentStartedAt'>): Stage =>
  order.status === 'pending' && order.paymentStartedAt ? 'paying' : order.status

/** Whether the order waits for its payment's outcome (`pay` or `decline`): the provider is asked only then. */
export const awaitsPayment = (order: Pick<OrderRow, 'status' | 'paymentStartedAt'>) => TRANSITIONS.pay.from.includes(stageOf(order))

/**
 * Whether `actor` may take `step` now, by TRANSITIONS. A person who may not is answered: 403 for a
 * step not theirs, 409 naming the order's status. For the system it is false: a repeated or late
 * event, or a timer whose moment has passed, changes nothing.
 */
const mayTake = (step: Step, order: OrderRow, actor: Actor) => {
  const rule = TRANSITIONS[step]
  const stage = stageOf(order)
  if (actor.role === 'system') return rule.by.includes('system') && rule.from.includes(stage)
  if (!rule.by.includes(actor.role)) {
    throw new Forbidden(`Only the order's ${rule.by.filter((role) => role !== 'admin' && role !== 'system').join(' or ')} may mark it ${rule.to}`)
  }
  // A step a person may take from `pending` (cancel) waits for the payment that has started.
  if (stage === 'paying' && rule.from.includes('pending')) {
    throw new Conflict(`Order ${order.id} is pending with its payment in progress: ${step} it once it is paid`)
  }
  if (!rule.from.includes(stage)) throw new Conflict(`Order ${order.id} is ${order.status}: it cannot become ${rule.to}`)
  return true
}

/** The timers leaving a status makes moot: dropped with the move, unless already begun. */
const MOOT_TIMERS: Partial<Record<OrderStatus, string[]>> = { pending: [PENDING_TIMEOUT], shipped: [AUTO_DELIVER] }

/** The event a move emits, made of the moved order (its new status and version). */
interface MoveEvent<T extends EventType> {
  type: T
  data: (moved: OrderRow) => EventData<T>
}

/** `move`'s event: `type`, with its data made of the moved order. */
const emitting = <T extends EventType>(type: T, data: (moved: OrderRow) => EventData<T>): MoveEvent<T> => ({ type, data })

/**
 * Moves the order to `to`, one revision on, drops its moot timers, writes the step to its
 * timeline, the move's event to the outbox and the writes `alongside` (CTEs, in order, such as
 * the ledger's journal): one statement.
 */
const move = async <T extends EventType>(
  app: ServiceApplication,
  trx: Knex.Transaction,
  order: OrderRow,
  to: OrderStatus,
  step: { by: string; reason?: string; changes?: Record<string, unknown> },
  event?: MoveEvent<T>,
  alongside: WritesAlongside = []
) => {
  const from = order.status
  const moved = trx('orders')
    .where({ id: order.id })
    .update({
      status: to,
      version: trx.raw('version + 1'),
      updatedAt: trx.fn.now(),
      ...(step.reason ? { reason: step.reason } : {}),
      ...step.changes
    })
  order.status = to
  order.version += 1
  const moot = MOOT_TIMERS[from]
  const statement = trx.with('moved', moved)
  if (moot) statement.with('moot', app.get('events').effects.unschedule(trx, moot, order.id))
  if (event) statement.with('emitted', (await app.get('events').emitAlongside(trx, event.type, [event.data(order)])).write)
  for (const [name, write] of alongside) statement.with(name, write)
  await statement.insert({ orderId: order.id, from, to, by: step.by, reason: step.reason ?? null }).into('order_timeline')
}

/** A change that moves no status (money paid back): one revision on. */
const revise = async (trx: Knex.Transaction, order: OrderRow) => {
  await trx('orders')
    .where({ id: order.id })
    .update({ version: trx.raw('version + 1'), updatedAt: trx.fn.now() })
  order.version += 1
}

const refOf = (order: OrderRow) => ({ orderId: order.id, buyerId: order.buyerId, sellerId: order.sellerId, version: order.version })

/** An order `place` makes: one seller's lines of a checkout. */
export interface NewOrder {
  id: string
  sellerId: string
  shopName: string | null
  lines: Array<{ productId: string; title: string; quantity: number; unitPrice: number }>
  total: number
}

/**
 * place: the checkout and one `pending` order per seller, with their lines, first timeline steps
 * and `order.created` events, and a pending timeout timer each; and the checkout's one payment of
 * their sum, `authorizing`: the `payment-authorize` side effect asks the provider after commit.
 */
export const place = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  checkout: {
    id: string
    buyerId: string
    buyerName: string
    currency: string
    shippingAddress: EventData<'order.paid'>['shippingAddress']
    payment: { provider: string; token?: string }
  },
  orders: NewOrder[]
) => {
  const { id: checkoutId, buyerId, buyerName, currency } = checkout
  // The checkout, its orders, their lines, first timeline steps, `order.created` events, payment,
  // its authorization and the orders' pending timeouts: one statement (the foreign keys are
  // checked at its end, when all are written).
  const checkoutRow = trx('checkouts').insert({
    id: checkoutId,
    buyerId,
    shippingAddress: JSON.stringify(checkout.shippingAddress),
    paymentProvider: checkout.payment.provider,
    paymentToken: checkout.payment.token ?? null
  })
  const orderRows = trx('orders').insert(
    orders.map((order) => ({
      id: order.id,
      checkoutId,
      buyerId,
      sellerId: order.sellerId,
      status: TRANSITIONS.place.to,
      total: order.total,
      currency,
      buyerName,
      shopName: order.shopName
    }))
  )
  const lines = trx('order_lines').insert(orders.flatMap((order) => order.lines.map((line) => ({ orderId: order.id, ...line }))))
  const timeline = trx('order_timeline').insert(orders.map((order) => ({ orderId: order.id, from: null, to: TRANSITIONS.place.to, by: buyerId })))
  const timeout = durationMs(app.get('orderPendingTimeout'))
  const { write: emitted } = await app.get('events').emitAlongside(
    trx,
    'order.created',
    orders.map((order) => ({
      orderId: order.id,
      buyerId,
      sellerId: order.sellerId,
      version: 1,
      checkoutId,
      lines: order.lines.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice })),
      total: order.total,
      currency
    }))
  )
  const [payment] = await trx
    .with('checkout', checkoutRow)
    .with('orders', orderRows)
    .with('lines', lines)
    .with('timeline', timeline)
    .with('emitted', emitted)
    .with(
      'scheduled',
      app
        .get('events')
        .effects.scheduleAlongside(trx, [
          { kind: AUTHORIZE, key: checkoutId, payload: { checkoutId } },
          ...orders.map((order) => ({ kind: PENDING_TIMEOUT, key: order.id, payload: { orderId: order.id }, delayMs: timeout }))
        ])
    )
    .insert({
      id: randomUUID(),
      checkoutId,
      provider: checkout.payment.provider,
      status: 'authorizing',
      amount: orders.reduce((sum, order) => sum + order.total, 0),
      currency
    })
    .into('payments')
    .returning('*')
  return payment as PaymentRow
}

/** What caused a step of the checkout's payment: carried on to the events it emits. */
interface Cause {
  correlationId: string
  causationId: string | null
}

/** Whether every order of the checkout has its reservation's outcome: none is pending with its payment not started. */
const reservationsSettled = (orders: Array<Pick<OrderRow, 'status' | 'paymentStartedAt'>>) => orders.every((order) => stageOf(order) !== 'pending')

/** The payment's capture (the `payment-capture` side effect), when it is due: the payment authorized, and every order of its checkout with its reservation's outcome. */
const captureDue = (payment: PaymentRow, orders: Array<Pick<OrderRow, 'status' | 'paymentStartedAt'>>, cause: Cause): ScheduledEffect | undefined =>
  payment.status === 'authorized' && reservationsSettled(orders)
    ? { kind: CAPTURE, key: payment.checkoutId, payload: { checkoutId: payment.checkoutId, ...cause } }
    : undefined

/** Schedules the payment's capture once it is due (see captureDue). */
const captureWhenReady = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  payment: PaymentRow,
  orders: Array<Pick<OrderRow, 'status' | 'paymentStartedAt'>>,
  cause: Cause
) => {
  const capture = captureDue(payment, orders, cause)
  if (capture) await app.get('events').effects.scheduleAll(trx, [capture])
}

/** A checkout's payment, locked, and the stages of its orders: what the outcome of one order's reservation is weighed against. */
type SettlingCheckout = { payment: PaymentRow | undefined; orders: Array<Pick<OrderRow, 'status' | 'paymentStartedAt'>> }

/**
 * An order's reservation has its outcome (reserved, rejected, or expired): an order reserved
 * after its checkout's payment ended without capturing it (or captured without it) is declined;
 * the last outcome of an authorized payment's checkout starts the capture. The payment row is
 * locked (after the order: every path locks a checkout's orders before its payment), so of two
 * outcomes arriving together the later one sees the earlier. `checkout` holds the order's own
 * step already (its row in `orders`, or read after it).
 */
const reservationSettled = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, checkout: SettlingCheckout, cause: Cause) => {
  const { payment, orders } = checkout
  if (!payment) return
  if (['captured', 'voided', 'failed'].includes(payment.status) && (await decline(app, trx, order))) return
  await captureWhenReady(app, trx, payment, orders, cause)
}

/** For a step on one order locked alone (a timer): its checkout's payment, locked after it, and its orders' stages as they are now. */
const lockPaymentAfter = async (trx: Knex.Transaction, order: OrderRow): Promise<SettlingCheckout> => {
  const [payment] = await queryInTransaction<PaymentRow>(trx, LOCK_CHECKOUT_PAYMENT, [order.checkoutId])
  const orders = await queryInTransaction<Pick<OrderRow, 'status' | 'paymentStartedAt'>>(trx, CHECKOUT_ORDER_STAGES, [order.checkoutId])
  return { payment, orders }
}

/** The checkout's aggregate lock (`aggregateKey`), which the steps on it declare: reservation outcomes, payment conclusions. */
export const checkoutAggregate = (checkoutId: string) => aggregateKey('checkout', checkoutId)

/**
 * A checkout's orders (by id) and then its payment, locked in that order: the order every path
 * locks them in. The payment comes as JSON: its timestamps are parsed back.
 */
export const lockCheckout = async (trx: Knex.Transaction, checkoutId: string) => {
  const rows = await queryInTransaction<
    OrderRow & { lockedPayment: PaymentRow | null; receiptShippingAddress: Receipt['shippingAddress']; receiptLines: Receipt['lines'] | null }
  >(trx, LOCK_CHECKOUT, [checkoutId])
  const locked = rows[0]?.lockedPayment
  const payment: PaymentRow | undefined = locked
    ? { ...locked, createdAt: new Date(locked.createdAt), updatedAt: new Date(locked.updatedAt) }
    : undefined
  const receipts = new Map<string, Receipt>()
  const orders: OrderRow[] = rows.map(({ lockedPayment: _payment, receiptShippingAddress, receiptLines, ...order }) => {
    receipts.set(order.id, { shippingAddress: receiptShippingAddress, lines: receiptLines ?? [] })
    return order
  })
  return { orders, payment, receipts }
}

/** The receipt's part of `order.paid` the order row does not hold: what notify-service prints and mails. */
type Receipt = Pick<EventData<'order.paid'>, 'shippingAddress' | 'lines'>

/** A checkout's orders and payment, locked, with each order's receipt by its id. */
export type LockedCheckout = { orders: OrderRow[]; payment: PaymentRow; receipts: Map<string, Receipt> }

/** The amount a capture takes: the totals of the checkout's orders waiting for their payment (reserved, not rejected or expired). */
export const amountToCapture = (orders: Array<Pick<OrderRow, 'status' | 'paymentStartedAt' | 'total'>>) =>
  orders.filter(awaitsPayment).reduce((sum, order) => sum + order.total, 0)

/**
 * What an authorization just made may capture at once, in its own effect: when every order of the
 * checkout has its reservation's outcome by now, the amount to capture; otherwise 0, and the last
 * outcome schedules the capture (a `payment-capture` of its own).
 */
export const amountToCaptureAtOnce = async (db: Knex, checkoutId: string) => {
  const orders = await queryPooled<Pick<OrderRow, 'status' | 'paymentStartedAt' | 'total'>>(db, CHECKOUT_ORDER_STAGES, [checkoutId])
  return reservationsSettled(orders) ? amountToCapture(orders) : 0
}

/**
 * The `payment-expire` timer of a payment that moved from `from`: set when the payment comes to
 * need its buyer's confirmation, at the pending timeout from placing (it then voids a payment never
 * confirmed), and dropped, unless begun, by any step out of that. Only such payments have one: the
 * others schedule and drop nothing.
 */
const keepExpiryTimer = async (app: ServiceApplication, trx: Knex.Transaction, payment: PaymentRow, from: PaymentRow['status']) => {
  const { effects } = app.get('events')
  if (payment.status === 'requires_action') {
    const placedAgoMs = Date.now() - new Date(payment.createdAt).getTime()
    const delayMs = Math.max(0, durationMs(app.get('orderPendingTimeout')) - placedAgoMs)
    await effects.schedule(trx, EXPIRE, payment.checkoutId, { checkoutId: payment.checkoutId }, { delayMs })
  } else if (from === 'requires_action') {
    await effects.unschedule(trx, [EXPIRE], payment.checkoutId)
  }
}

/** Moves the checkout's payment by `step` (orders/payment.ts), with its `payment-expire` timer (keepExpiryTimer). Whether it moved. */
const stepPayment = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  payment: PaymentRow,
  step: PaymentStep,
  changes: Partial<PaymentRow> = {},
  alongside: WritesAlongside = []
) => {
  const from = payment.status
  if (!(await movePayment(trx, payment, step, changes, alongside))) return false
  await keepExpiryTimer(app, trx, payment, from)
  return true
}

/** The `payment-release` of a failed payment, `delayMs` from now: looks the provider's hold up and voids it. */
const releaseLater = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  payment: PaymentRow,
  release: Pick<ReleasePayload, 'paymentId' | 'cause'> & Cause,
  delayMs = 0
) => {
  await scheduleRelease(app.get('events').effects, trx, { checkoutId: payment.checkoutId, round: 1, ...release }, delayMs)
}

/**
 * paymentAuthorized: the provider holds the total (its answer, a webhook or a lookup); captured
 * once every reservation has its outcome. Reported for a payment that failed meanwhile (its orders
 * declined), the hold is a stray one: released.
 */
export const paymentAuthorized = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  checkout: LockedCheckout,
  paymentId: string,
  cause: Cause
) => {
  // When every reservation has its outcome, the capture is scheduled in the statement that moves the payment.
  const capture = captureDue({ ...checkout.payment, status: PAYMENT_TRANSITIONS.authorize.to }, checkout.orders, cause)
  const alongside: WritesAlongside = capture ? [['scheduled', app.get('events').effects.scheduleAlongside(trx, [capture])]] : []
  if (await stepPayment(app, trx, checkout.payment, 'authorize', { paymentId, clientSecret: null }, alongside)) return []
  if (mayRelease(checkout.payment)) {
    await releaseLater(app, trx, checkout.payment, { paymentId, cause: 'reported', ...cause })
  }
  return []
}

/** paymentRequiresAction: the buyer confirms the payment with the provider (`clientSecret`); its webhook tells the outcome. */
export const paymentRequiresAction = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  checkout: LockedCheckout,
  paymentId: string,
  clientSecret: string | null
) => {
  await stepPayment(app, trx, checkout.payment, 'requireAction', { paymentId, clientSecret })
  return []
}

/** The orders waiting for the payment are cancelled for `payment_failed`: the ones moved. */
const declineAll = async (app: ServiceApplication, trx: Knex.Transaction, checkout: LockedCheckout) => {
  const moved: OrderRow[] = []
  for (const order of checkout.orders) if (await decline(app, trx, order)) moved.push(order)
  return moved
}

/** paymentFailed: declined (or nothing was authorized): the orders waiting for it are declined, and those reserved later. */
export const paymentFailed = async (app: ServiceApplication, trx: Knex.Transaction, checkout: LockedCheckout, reason: string) => {
  if (!(await stepPayment(app, trx, checkout.payment, 'fail', { failureReason: reason, clientSecret: null }))) return []
  return declineAll(app, trx, checkout)
}

/**
 * paymentNotFound: the provider has no trace of an authorization whose every answer was lost
 * (nothing reached it, or its lookup lags behind: Stripe's search does, by up to a minute or more):
 * failed, its orders declined; and looked up again `paymentLookupLag` later, to release a hold
 * the provider made after all.
 */
export const paymentNotFound = async (app: ServiceApplication, trx: Knex.Transaction, checkout: LockedCheckout, cause: Cause) => {
  if (!(await stepPayment(app, trx, checkout.payment, 'fail', { failureReason: 'not_authorized', clientSecret: null }))) return []
  await releaseLater(app, trx, checkout.payment, { paymentId: null, cause: 'lookup', ...cause }, durationMs(app.get('paymentLookupLag')))
  return declineAll(app, trx, checkout)
}

/** paymentReleased: the stray hold `paymentId` of a failed payment was voided at the provider. */
export const paymentReleased = async (app: ServiceApplication, trx: Knex.Transaction, checkout: LockedCheckout, paymentId: string) => {
  await stepPayment(app, trx, checkout.payment, 'release', { paymentId })
  return []
}

/** paymentVoided: the hold was released, nothing captured (no order reserved, or the capture could not be made): the orders waiting for it are declined. */
export const paymentVoided = async (app: ServiceApplication, trx: Knex.Transaction, checkout: LockedCheckout) => {
  if (!(await stepPayment(app, trx, checkout.payment, 'void', { clientSecret: null }))) return []
  return declineAll(app, trx, checkout)
}

/**
 * paymentCaptured: the totals of the orders waiting for the payment were captured (once, by our
 * capture or as the provider's webhook or lookup reports it, the webhook possibly before the
 * authorization's answer told us the provider's `paymentId`): each of them takes its `pay` step.
 */
export const paymentCaptured = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  checkout: LockedCheckout,
  { paymentId, captureId }: { paymentId: string; captureId: string | null }
) => {
  const { payment } = checkout
  const paying = checkout.orders.filter(awaitsPayment)
  const captured = paying.reduce((sum, order) => sum + order.total, 0)
  const from = payment.status
  const moved = paymentMove(trx, payment, 'capture', { paymentId, captureId, captured, clientSecret: null })
  if (!moved) return []
  // The payment's move is written by the statement that pays the first order (by itself when none is paid).
  let paymentMoved: WritesAlongside = [['payment_moved', moved]]
  for (const order of paying) {
    if (await pay(app, trx, order, paymentId, checkout.receipts.get(order.id)!, paymentMoved)) paymentMoved = []
  }
  if (paymentMoved.length > 0) await moved
  await keepExpiryTimer(app, trx, payment, from)
  return paying
}

/**
 * reserve: the catalog reserved the stock at the quoted prices; the order keeps its quoted total,
 * the most it is ever charged, and waits for its checkout's payment: captured with the others
 * once every order of the checkout has its reservation's outcome (see reservationSettled).
 */
export const reserve = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  checkout: SettlingCheckout,
  order: OrderRow,
  cause: { correlationId: string; causationId: string }
) => {
  if (!mayTake('reserve', order, BY_SYSTEM)) return
  order.paymentStartedAt = new Date()
  // The capture this outcome completes, if any, is scheduled in the statement that records it.
  const capture = checkout.payment && captureDue(checkout.payment, checkout.orders, cause)
  const started = trx('orders').where({ id: order.id })
  if (capture) started.with('scheduled', app.get('events').effects.scheduleAlongside(trx, [capture]))
  await started.update({ paymentStartedAt: trx.fn.now(), updatedAt: trx.fn.now() })
  if (!capture) await reservationSettled(app, trx, order, checkout, cause)
}

/** reject: the catalog could not reserve the stock; the order is rejected with its reasons. */
export const reject = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  checkout: SettlingCheckout,
  order: OrderRow,
  reason: string,
  cause: Cause
) => {
  if (!mayTake('reject', order, BY_SYSTEM)) return
  await move(
    app,
    trx,
    order,
    'rejected',
    { by: SYSTEM, reason },
    emitting('order.rejected', (moved) => ({ ...refOf(moved), reason }))
  )
  await reservationSettled(app, trx, order, checkout, cause)
}

/**
 * pay: captured from the checkout's payment `paymentId` (the provider's id); the total is held in
 * escrow and `order.paid` carries the receipt. `alongside`: other writes of the capture, in the
 * same statement. Whether it was taken.
 */
export const pay = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  order: OrderRow,
  paymentId: string,
  receipt: Receipt,
  alongside: WritesAlongside = []
) => {
  if (!mayTake('pay', order, BY_SYSTEM)) return false
  await move(
    app,
    trx,
    order,
    'paid',
    { by: SYSTEM, changes: { paymentId } },
    emitting('order.paid', (moved) => ({
      ...refOf(moved),
      checkoutId: moved.checkoutId,
      total: moved.total,
      currency: moved.currency,
      paymentId,
      placedAt: new Date(moved.createdAt).toISOString(),
      buyerName: moved.buyerName,
      shopName: moved.shopName,
      ...receipt
    })),
    [...holdPayment(trx, { orderId: order.id, sellerId: order.sellerId, currency: order.currency, total: order.total }), ...alongside]
  )
  return true
}

const cancelled = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, by: string, reason: string) => {
  const wasPaid = order.status === 'paid'
  await move(
    app,
    trx,
    order,
    'cancelled',
    { by, reason },
    emitting('order.cancelled', (moved) => ({ ...refOf(moved), reason }))
  )
  if (wasPaid) await refund(app, trx, order, { reason, by })
}

/** decline: the payment failed (declined, or nothing captured): cancelled for `payment_failed`. Whether it was taken. */
export const decline = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow) => {
  if (!mayTake('decline', order, BY_SYSTEM)) return false
  await cancelled(app, trx, order, SYSTEM, 'payment_failed')
  return true
}

/** expire: still pending at its timeout, its payment not started: cancelled for `timeout`. */
export const expire = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, cause: Cause) => {
  if (!mayTake('expire', order, BY_SYSTEM)) return
  await cancelled(app, trx, order, SYSTEM, 'timeout')
  await reservationSettled(app, trx, order, await lockPaymentAfter(trx, order), cause)
}

/** cancel: by a person, before shipping; a paid order is refunded in full (the catalog gives the stock back on either event). */
export const cancel = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, actor: Actor) => {
  if (mayTake('cancel', order, actor)) await cancelled(app, trx, order, actor.id, `cancelled_by_${actor.role}`)
}

/** ship: with an auto-deliver timer. An order whose money is on its way back stays (the refund's order.refunded gives the stock back). */
export const ship = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, actor: Actor, trackingNumber?: string) => {
  if (!mayTake('ship', order, actor)) return
  if (order.paymentId && (await leftToRefund(trx, order)) <= 0) throw new Conflict(`Order ${order.id} is refunded in full: it cannot become shipped`)
  await move(app, trx, order, 'shipped', { by: actor.id, changes: trackingNumber ? { trackingNumber } : {} }, emitting('order.shipped', refOf))
  await app.get('events').effects.schedule(trx, AUTO_DELIVER, order.id, { orderId: order.id }, { delayMs: durationMs(app.get('autoDeliverAfter')) })
}

/** deliver: by its buyer, or by the auto-deliver timer; with an escrow release timer. */
export const deliver = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, actor: Actor) => {
  if (!mayTake('deliver', order, actor)) return
  const productIds: string[] = await trx('order_lines').where({ orderId: order.id }).pluck('productId')
  await move(
    app,
    trx,
    order,
    'delivered',
    { by: actor.id },
    emitting('order.delivered', (moved) => ({ ...refOf(moved), productIds }))
  )
  await app
    .get('events')
    .effects.schedule(trx, RELEASE_ESCROW, order.id, { orderId: order.id }, { delayMs: durationMs(app.get('escrowReleaseAfter')) })
}

/** complete: the escrow released to the seller less the commission, and paid out to them (payouts/payout.ts). */
export const complete = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow) => {
  if (!mayTake('complete', order, BY_SYSTEM)) return
  const { payout, commission } = await releaseEscrow(
    trx,
    { orderId: order.id, sellerId: order.sellerId, currency: order.currency },
    app.get('commissionPercent')
  )
  await move(
    app,
    trx,
    order,
    'completed',
    { by: SYSTEM },
    emitting('order.completed', (moved) => ({ ...refOf(moved), payout, commission, currency: moved.currency }))
  )
  const { paymentProvider: provider } = await trx('checkouts').where({ id: order.checkoutId }).first('paymentProvider')
  await openPayout(app, trx, { orderId: order.id, sellerId: order.sellerId, currency: order.currency, provider })
}

/** The sum of the order's refunds in `statuses`. */
const refundedSoFar = async (trx: Knex.Transaction, orderId: string, statuses: RefundStatus[]) => {
  const [{ sum }] = await trx('refunds').where({ orderId }).whereIn('status', statuses).select(trx.raw('coalesce(sum(amount), 0)::int AS sum'))
  return sum as number
}

/** What is left to refund of a paid order: its total less its refunds, paid back or still pending. */
const leftToRefund = async (trx: Knex.Transaction, order: OrderRow) => order.total - (await refundedSoFar(trx, order.id, ['pending', 'succeeded']))

/**
 * refund: `amount` (all that is left when none is given) of any order that was paid, never more
 * than was paid in all; written now and carried out with the provider after (the `refund` side effect).
 */
export const refund = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  order: OrderRow,
  request: { amount?: number; reason: string; by: string }
): Promise<RefundRow> => {
  if (!order.paymentId) throw new Conflict(`Order ${order.id} is ${order.status}: nothing was paid to refund`)
  const refundable = await leftToRefund(trx, order)
  if (refundable <= 0) throw new Conflict(`Order ${order.id} is refunded in full already`)
  const amount = request.amount ?? refundable
  if (amount > refundable) throw invalidField('amount', `must be at most ${refundable}, what is left to refund of order ${order.id}`)
  const [row] = await trx('refunds')
    .insert({ id: randomUUID(), orderId: order.id, amount, currency: order.currency, reason: request.reason, by: request.by, status: 'pending' })
    .returning('*')
  await app.get('events').effects.schedule(trx, REFUND, row.id, { refundId: row.id })
  return row
}

/**
 * payBack: the provider paid `pending` back as `refundReference` (once: a refund no longer pending
 * changes nothing): the ledger's journal, `order.refunded`, and `refunded` (refundInFull) once all
 * that was paid is back, unless the order was cancelled.
 */
export const payBack = async (app: ServiceApplication, trx: Knex.Transaction, order: OrderRow, pending: RefundRow, refundReference: string) => {
  const updated = await trx('refunds').where({ id: pending.id, status: 'pending' }).update({ status: 'succeeded', refundReference })
  if (updated === 0) return
  await trx('payments').where({ checkoutId: order.checkoutId }).increment('refunded', pending.amount).update({ updatedAt: trx.fn.now() })
  const movement = { orderId: order.id, sellerId: order.sellerId, currency: order.currency }
  await refundToBuyer(trx, movement, pending)
  await reverseForRefund(app, trx, movement, pending.id)
  const fully = (await refundedSoFar(trx, order.id, ['succeeded'])) >= order.total
  await revise(trx, order)
  await app.get('events').emit(trx, 'order.refunded', {
    ...refOf(order),
    amount: pending.amount,
    currency: pending.currency,
    // Refunded in full while still paid: the goods never left, so the catalog takes them back.
    // A cancelled order's stock comes back on order.cancelled; a shipped one's does not.
    restock: fully && order.status === 'paid'
  })
  if (fully && mayTake('refundInFull', order, BY_SYSTEM)) await move(app, trx, order, 'refunded', { by: pending.by, reason: pending.reason })
}
