import type { StripeServer } from '@marketmesh/test-support/stripe'
import type { Mesh } from '@marketmesh/test-support/mesh'
import { adminToken, listAll } from './http'
import type { Market } from './shoppers'

interface Order {
  id: string
  checkoutId: string
  status: string
  total: number
  timeline: Array<{ to: string }>
  /** What was paid back, and each refund. */
  refunded: number
  refunds: Array<{ status: string }>
}

/** Whether the order's total was captured: it was paid (whatever came after). */
const wasPaid = (order: Order) => order.timeline.some((step) => step.to === 'paid')

interface Intent {
  id: string
  status: string
  amount_received: number
  metadata: Record<string, string>
}

interface Payout {
  id: string
  orderId: string
  amount: number
  status: string
  reference: string | null
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0)

/**
 * What Stripe (the local server) holds of the market's checkouts, against order-service's books:
 * one payment intent per checkout, captured once with the same key however often it was asked,
 * exactly the paid orders' totals captured and no hold left, refunds and transfers made once and
 * equal to order-service's refunds and payouts; and what the faults made it do (answers lost,
 * lookups, webhooks before the API's answer). Each list of problems is empty when all is well.
 */
export const stripeAccounts = async ({ mesh, market, stripe, orders }: { mesh: Mesh; market: Market; stripe: StripeServer; orders: Order[] }) => {
  const checkouts = new Map<string, Order[]>()
  for (const order of orders) checkouts.set(order.checkoutId, [...(checkouts.get(order.checkoutId) ?? []), order])
  const intents = [...stripe.intents.values()] as unknown as Intent[]
  const intentsOf = (checkoutId: string) => intents.filter((intent) => intent.metadata.checkout_id === checkoutId)
  const requestsTo = (method: string, path: string) => stripe.requests.filter((request) => request.method === method && request.path === path)
  const problems = { intents: [] as string[], captures: [] as string[], refunds: [] as string[], transfers: [] as string[] }

  let captured = 0
  let paidCheckouts = 0
  for (const [checkoutId, ofCheckout] of checkouts) {
    const found = intentsOf(checkoutId)
    if (found.length !== 1) {
      problems.intents.push(`checkout ${checkoutId}: ${found.length} payment intents`)
      continue
    }
    const [intent] = found
    const paidTotal = sum(ofCheckout.filter(wasPaid).map((order) => order.total))
    const captures = requestsTo('POST', `/v1/payment_intents/${intent.id}/capture`)
    const keys = new Set(captures.map((request) => request.idempotencyKey))
    const made = captures.filter((request) => !request.replayed && request.status === 200).length
    if (keys.size > 1 || made > 1 || captures.some((request) => request.status !== 200)) {
      problems.captures.push(
        `${intent.id}: ${captures.length} captures under ${keys.size} keys, ${made} made, statuses ${captures.map((r) => r.status)}`
      )
    }
    if (intent.amount_received !== paidTotal) problems.captures.push(`${intent.id}: ${intent.amount_received} captured, ${paidTotal} paid`)
    if (intent.status === 'requires_capture') problems.captures.push(`${intent.id}: still holding the buyer's money`)
    const refundsOf = [...stripe.refunds.values()].filter((refund) => refund.payment_intent === intent.id)
    const ourRefunds = ofCheckout.flatMap((order) => order.refunds.filter((refund) => refund.status === 'succeeded'))
    const paidBack = sum(ofCheckout.map((order) => order.refunded))
    if (refundsOf.length !== ourRefunds.length || sum(refundsOf.map((refund) => refund.amount as number)) !== paidBack) {
      problems.refunds.push(
        `${intent.id}: Stripe made ${refundsOf.length} refunds, order-service recorded ${ourRefunds.length} paying back ${paidBack}`
      )
    }
    captured += intent.amount_received
    if (paidTotal > 0) paidCheckouts++
  }

  const marketIntents = new Set(intents.filter((intent) => checkouts.has(intent.metadata.checkout_id)).map((intent) => intent.id))
  const stripeRefunds = [...stripe.refunds.values()].filter((refund) => marketIntents.has(refund.payment_intent as string))
  const refunded = sum(stripeRefunds.map((refund) => refund.amount as number))

  // Payouts: one transfer per paid payout, the one it names, and none to anyone else.
  const payouts = (
    await Promise.all(market.sellers.map((seller) => listAll<Payout>(mesh.urls.order, `/payouts?sellerId=${seller.id}`, adminToken())))
  ).flat()
  const transfers = [...stripe.transfers.values()].filter((transfer) => checkouts.has(transfer.transfer_group as string))
  for (const payout of payouts) {
    const made = transfers.filter((transfer) => transfer.id === payout.reference)
    if ((payout.status === 'paid') !== (made.length === 1) || made.some((transfer) => transfer.amount !== payout.amount)) {
      problems.transfers.push(
        `payout ${payout.id} of ${payout.amount}, ${payout.status}: transfers ${made.map((transfer) => transfer.amount).join(', ')}`
      )
    }
  }
  const references = new Set(payouts.map((payout) => payout.reference))
  problems.transfers.push(...transfers.filter((transfer) => !references.has(transfer.id)).map((transfer) => `transfer ${transfer.id} of no payout`))

  const marketDeliveries = stripe.webhookDeliveries.filter((delivery) => marketIntents.has(delivery.objectId))
  const early = marketDeliveries.filter((delivery) => delivery.beforeAnswer)
  const answerless = [...stripe.answerlessCaptures].filter((id) => marketIntents.has(id))
  return {
    problems,
    intents: marketIntents.size,
    paidCheckouts,
    captured,
    /** Capture requests Stripe answered from its stored answer of the same key: asked again, captured once. */
    replayedCaptures: [...marketIntents].reduce(
      (replayed, id) => replayed + requestsTo('POST', `/v1/payment_intents/${id}/capture`).filter((request) => request.replayed).length,
      0
    ),
    refunds: stripeRefunds.length,
    refunded,
    transfers: transfers.length,
    payouts: payouts.length,
    /** Payments whose every capture answer was lost, and how often order-service looked each of them up. */
    lookupsOfAnswerless: answerless.map((id) => requestsTo('GET', `/v1/payment_intents/${id}`).length),
    webhooks: marketDeliveries.length,
    /** Webhooks posted before the answer of the call that caused them, and those order-service did not act on at once. */
    earlyWebhooks: early.length,
    earlyNotHandled: early
      .filter((delivery) => delivery.status !== 200 || !(delivery.body as { handled?: boolean } | undefined)?.handled)
      .map((delivery) => `${delivery.type} of ${delivery.objectId}: ${delivery.status} ${JSON.stringify(delivery.body)}`),
    violations: stripe.violations.length
  }
}

export type StripeAccounts = Awaited<ReturnType<typeof stripeAccounts>>

/** The Stripe part of a scenario's summary line. */
export const stripeSummary = (accounts: StripeAccounts) =>
  `Stripe: ${accounts.intents} payment intents, ${accounts.paidCheckouts} captured (${accounts.captured} cents, ${accounts.replayedCaptures} capture answers replayed), ` +
  `${accounts.refunds} refunds (${accounts.refunded} cents), ${accounts.transfers} transfers for ${accounts.payouts} payouts, ` +
  `${accounts.lookupsOfAnswerless.length} captures answerless (looked up ${accounts.lookupsOfAnswerless.join('/') || '-'} times), ` +
  `${accounts.webhooks} webhooks (${accounts.earlyWebhooks} before the API's answer), ${accounts.violations} OpenAPI violations`
