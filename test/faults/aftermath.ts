import { waitFor } from '@marketmesh/test-support'
import type { Mesh } from '@marketmesh/test-support/mesh'
import type { StripeServer } from '@marketmesh/test-support/stripe'
import { backlogsOf, ordersOf } from './audit'
import { adminToken, call, listAll } from './http'
import type { Market } from './shoppers'

// Of a market's paid orders, every CANCEL_EVERY-th is cancelled by its buyer (refunded), and the
// first DELIVERED of the others are shipped and delivered (their escrow paid out to the seller).
const CANCEL_EVERY = 10
const DELIVERED = 60

/**
 * After a scenario paid through Stripe has settled, the money's way on: the sellers open Stripe
 * payout accounts and finish onboarding (Stripe's `account.updated` enables them), buyers cancel
 * some paid orders (refunded from their checkout's payment) and others are shipped and delivered,
 * so that their escrow goes to the sellers by payout (a transfer from the payment). `during` is
 * the fault while it happens. Returns once every refund and payout is through and nothing is left
 * to do: how many orders were refunded and paid out.
 */
export const refundAndPayOut = async ({ mesh, market, stripe, during }: { mesh: Mesh; market: Market; stripe: StripeServer; during: () => void }) => {
  const url = mesh.urls.order
  for (const seller of market.sellers) {
    await call(url, 'POST', '/payout-accounts', { token: seller.token, body: { provider: 'stripe', returnUrl: 'https://shop.example/payouts' } })
    const [account] = await listAll<{ accountId: string }>(url, `/payout-accounts?sellerId=${seller.id}&provider=stripe`, adminToken())
    stripe.completeOnboarding(account.accountId)
  }
  const enabled = async (sellerId: string) =>
    (await listAll<{ status: string }>(url, `/payout-accounts?sellerId=${sellerId}&provider=stripe&status=enabled`, adminToken())).length === 1
  await waitFor(async () => (await Promise.all(market.sellers.map((seller) => enabled(seller.id)))).every(Boolean), {
    what: "the sellers' Stripe accounts enabled by account.updated",
    timeoutMs: 60_000
  })

  const paid = (await ordersOf(mesh, market)).filter((order) => order.status === 'paid')
  const cancelled = paid.filter((_, index) => index % CANCEL_EVERY === 0)
  const delivered = paid.filter((_, index) => index % CANCEL_EVERY !== 0).slice(0, DELIVERED)
  const tokenOf = (userId: string) => [...market.buyers, ...market.sellers].find((account) => account.id === userId)!.token
  const move = (order: { id: string }, userId: string, status: string) =>
    call(url, 'PATCH', `/orders/${order.id}`, { token: tokenOf(userId), body: { status } })
  during()
  await Promise.all([
    ...cancelled.map((order) => move(order, order.buyerId, 'cancelled')),
    ...delivered.map(async (order) => {
      await move(order, order.sellerId, 'shipped')
      await move(order, order.buyerId, 'delivered')
    })
  ])

  const done = new Set([...cancelled, ...delivered].map((order) => order.id))
  await waitFor(
    async () => {
      const orders = (await ordersOf(mesh, market)).filter((order) => done.has(order.id))
      const payouts = (
        await Promise.all(
          market.sellers.map((seller) => listAll<{ orderId: string; status: string }>(url, `/payouts?sellerId=${seller.id}`, adminToken()))
        )
      )
        .flat()
        .filter((payout) => done.has(payout.orderId))
      const backlogs = await backlogsOf(mesh)
      return (
        orders.every((order) => (order.status === 'cancelled' ? order.refunded === order.total : order.status === 'completed')) &&
        payouts.length === delivered.length &&
        payouts.every((payout) => payout.status === 'paid') &&
        backlogs.every((backlog) => backlog.unsent === 0 && backlog.due === 0) &&
        stripe.webhookBacklog() === 0
      )
    },
    { what: 'every refund and payout through', timeoutMs: 180_000, intervalMs: 1_000 }
  )
  return { refunded: cancelled.length, paidOut: delivered.length }
}
