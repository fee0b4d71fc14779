import amqplib from 'amqplib'
import pg from 'pg'
import { consumerQueueNames, EVENT_CONSUMERS } from '@marketmesh/shared'
import type { ReceivedMail } from '../../packages/notify-service/test/smtp'
import { waitFor } from '../support'
import { accessToken } from '../support/tokens'
import { call } from './http'
import { SERVICES, type Mesh } from './mesh'
import type { PrivateServer } from './private-servers'
import type { Market, PlacedCheckout } from './shoppers'

const FINAL_STATUSES = ['paid', 'rejected', 'cancelled']
const PAGE = 100

interface Order {
  id: string
  buyerId: string
  sellerId: string
  status: string
  reason: string | null
  lines: Array<{ productId: string; quantity: number }>
}

const adminToken = () => accessToken({ id: '00000000-0000-4000-8000-000000000001', role: 'admin' })

const ordersOf = async (mesh: Mesh, sellerId: string) => {
  const orders: Order[] = []
  for (let skip = 0; ; skip += PAGE) {
    const page = await call(mesh.url('order-service'), 'GET', `/orders?sellerId=${sellerId}&$limit=${PAGE}&$skip=${skip}`, { token: adminToken() })
    orders.push(...page.data)
    if (orders.length >= page.total) return orders
  }
}

/**
 * Work not yet done in one service's database: events not yet relayed, side effects due or being
 * retried. Timers (an order's pending timeout) wait unattempted for their time and are no work to
 * wait for.
 */
const backlogOf = async (postgres: PrivateServer, service: string) => {
  const client = new pg.Client({ connectionString: `${postgres.url}/marketmesh_${service.replace('-service', '')}` })
  await client.connect()
  try {
    const { rows } = await client.query(
      `SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL)::int AS unsent,
              (SELECT count(*) FROM side_effects WHERE status = 'pending' AND (run_after <= now() OR attempts > 0))::int AS due,
              (SELECT count(*) FROM side_effects WHERE status = 'failed')::int AS failed`
    )
    return rows[0] as { unsent: number; due: number; failed: number }
  } finally {
    await client.end()
  }
}

/** Messages waiting in every consumer's queue, and in its dead-letter queue. */
const queueDepths = async (rabbitmq: PrivateServer) => {
  const connection = await amqplib.connect(rabbitmq.url)
  try {
    const channel = await connection.createChannel()
    const depths = { waiting: 0, deadLetters: 0 }
    // A service that consumes nothing (user-service) has no queue.
    for (const [consumer, types] of Object.entries(EVENT_CONSUMERS)) {
      if (types.length === 0) continue
      const names = consumerQueueNames('mmfault', consumer)
      depths.waiting += (await channel.checkQueue(names.queue)).messageCount
      depths.deadLetters += (await channel.checkQueue(names.deadLetterQueue)).messageCount
    }
    return depths
  } finally {
    await connection.close()
  }
}

/**
 * Waits until the market has settled (every order of its checkouts final, every outbox relayed,
 * every side effect due done, every queue drained, twice in a row), then takes its accounts.
 */
export const settle = async ({
  mesh,
  postgres,
  rabbitmq,
  market,
  timeoutMs = 240_000
}: {
  mesh: Mesh
  postgres: PrivateServer
  rabbitmq: PrivateServer
  market: Market
  timeoutMs?: number
}) => {
  let quietBefore = false
  await waitFor(
    async () => {
      const orders = (await Promise.all(market.sellers.map((seller) => ordersOf(mesh, seller.id)))).flat()
      const backlogs = await Promise.all(SERVICES.map((service) => backlogOf(postgres, service)))
      const queues = await queueDepths(rabbitmq)
      const quiet =
        orders.every((order) => FINAL_STATUSES.includes(order.status)) &&
        backlogs.every((backlog) => backlog.unsent === 0 && backlog.due === 0) &&
        queues.waiting === 0
      const settled = quiet && quietBefore
      quietBefore = quiet
      return settled
    },
    { what: 'the market to settle', timeoutMs, intervalMs: 1_000 }
  )
}

/** What the books say once settled: the counts a scenario prints and the checks it asserts. */
export const takeAccounts = async ({
  mesh,
  postgres,
  rabbitmq,
  market,
  checkouts,
  mails
}: {
  mesh: Mesh
  postgres: PrivateServer
  rabbitmq: PrivateServer
  market: Market
  checkouts: PlacedCheckout[]
  mails: ReceivedMail[]
}) => {
  const orders = (await Promise.all(market.sellers.map((seller) => ordersOf(mesh, seller.id)))).flat()
  const byStatus = (status: string) => orders.filter((order) => order.status === status)
  // What each order must end as, by its card: paid (or rejected, out of stock) with a good one,
  // cancelled for the failed payment (or rejected) with a declined one.
  const cardOf = new Map(checkouts.flatMap((checkout) => checkout.orderIds.map((id) => [id, checkout.card])))
  const expectedEnds: Record<string, string[]> = { tok_ok: ['paid', 'rejected'], tok_declined: ['cancelled', 'rejected'] }
  const endOf = (order: Order) => (order.reason ? `${order.status} (${order.reason})` : order.status)
  const paid = byStatus('paid')

  // Stock: what each product started with = what it has left + what paid orders took.
  const stock = await Promise.all(
    market.products.map(async (product) => {
      const { stock: remaining } = await call(mesh.url('catalog-service'), 'GET', `/products/${product.id}`)
      const sold = paid.flatMap((order) => order.lines).reduce((sum, line) => sum + (line.productId === product.id ? line.quantity : 0), 0)
      return { productId: product.id, initial: product.stock, remaining, sold }
    })
  )

  const ledger = await call(mesh.url('order-service'), 'GET', '/ledger', { token: adminToken() })

  // Mails of this market's orders: a buyer's confirmation and a seller's notice each name the order.
  const mailsOf = (order: Order) => mails.filter((mail) => mail.text.includes(order.id))
  const messageIds = mails.map((mail) => mail.messageId)
  const backlogs = await Promise.all(SERVICES.map((service) => backlogOf(postgres, service)))
  const queues = await queueDepths(rabbitmq)

  return {
    checkouts: checkouts.length,
    retried: checkouts.filter((checkout) => checkout.attempts > 1).length,
    replayed: checkouts.filter((checkout) => checkout.replayed).length,
    orders: orders.length,
    /** Orders the checkouts answered with, against those order-service holds: none lost, none made twice. */
    orderIdsAnswered: checkouts.flatMap((checkout) => checkout.orderIds).sort(),
    orderIdsHeld: orders.map((order) => order.id).sort(),
    pending: orders.filter((order) => !FINAL_STATUSES.includes(order.status)).length,
    paid: paid.length,
    rejected: byStatus('rejected').length,
    cancelled: byStatus('cancelled').length,
    /** Orders that ended otherwise than their card says, with their end: none. */
    unexpectedEnds: orders
      .filter((order) => !expectedEnds[cardOf.get(order.id)!]?.includes(order.status))
      .map((order) => `${order.id} with ${cardOf.get(order.id)}: ${endOf(order)}`),
    stock,
    trialBalance: ledger.trialBalance as Array<{ currency: string; balance: number }>,
    /** Per order: how many mails name it (2 for a paid one: the buyer's and the seller's; else 0). */
    mailsPerPaidOrder: paid.map(mailsOf).map((list) => list.length),
    mailsPerUnpaidOrder: orders.filter((order) => order.status !== 'paid').map((order) => mailsOf(order).length),
    orderMails: orders.flatMap(mailsOf).length,
    duplicateMessageIds: messageIds.length - new Set(messageIds).size,
    failedSideEffects: backlogs.reduce((sum, backlog) => sum + backlog.failed, 0),
    deadLetters: queues.deadLetters
  }
}

export type Accounts = Awaited<ReturnType<typeof takeAccounts>>

/** The scenario's one summary line. */
export const summaryLine = (scenario: string, accounts: Accounts, faultSeconds: number) =>
  `[faults] ${scenario}: ${accounts.checkouts} checkouts (${accounts.retried} retried, ${accounts.replayed} replayed) -> ` +
  `${accounts.orders} orders: ${accounts.paid} paid, ${accounts.rejected} rejected, ${accounts.cancelled} cancelled, ${accounts.pending} pending; ` +
  `${accounts.orderMails} order mails, ${accounts.duplicateMessageIds} duplicate; ` +
  `stock ${accounts.stock.map((product) => `${product.initial}=${product.remaining}+${product.sold}`).join(' ')}; ` +
  `trial balance ${accounts.trialBalance.map((line) => `${line.balance} ${line.currency}`).join(', ') || 'empty'}; ` +
  `${accounts.deadLetters} dead letters, ${accounts.failedSideEffects} failed side effects; fault took ${faultSeconds.toFixed(1)} s`
