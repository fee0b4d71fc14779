import amqplib from 'amqplib'
import pg from 'pg'
import { consumerQueueNames, EVENT_CONSUMERS } from '@marketmesh/events'
import type { ReceivedMail } from '@marketmesh/test-support/smtp'
import type { StripeServer } from '@marketmesh/test-support/stripe'
import { waitFor } from '@marketmesh/test-support'
import { MESH_SERVICES, type Mesh } from '@marketmesh/test-support/mesh'
import { adminToken, call, listAll } from './http'
import type { Printers } from './printers'
import type { Market, PlacedCheckout } from './shoppers'
import { stripeAccounts, stripeSummary } from './stripe-audit'

const FINAL_STATUSES = ['paid', 'rejected', 'cancelled']
// Every query of the audit gives up rather than wait for a server that does not answer.
const QUERY_TIMEOUT_MS = 15_000

interface Order {
  id: string
  checkoutId: string
  total: number
  buyerId: string
  sellerId: string
  status: string
  reason: string | null
  lines: Array<{ productId: string; quantity: number }>
  timeline: Array<{ to: string }>
  refunded: number
  refunds: Array<{ status: string }>
}

interface PrintJob {
  id: string
  sellerId: string
  orderId: string
  copy: boolean
  status: string
  deviceId: string | null
}

export const ordersOf = (mesh: Mesh, market: Market) =>
  Promise.all(market.sellers.map((seller) => listAll<Order>(mesh.urls.order, `/orders?sellerId=${seller.id}`, adminToken(), { byId: true }))).then(
    (lists) => lists.flat()
  )

/** The print jobs of the market's shops, as their sellers see them. */
const printJobsOf = (mesh: Mesh, market: Market) =>
  Promise.all(market.sellers.map((seller) => listAll<PrintJob>(mesh.urls.notify, '/print-jobs', seller.token, { byId: true }))).then((lists) =>
    lists.flat()
  )

// A payment call given up after its retries hands over to a `payment-settle` lookup (order-service's
// payments/charge.ts): not a failure as long as the orders end as their cards say.
const HANDED_TO_LOOKUP = ['payment-authorize', 'payment-capture']

/**
 * Work not yet done in one service's database: events not yet relayed, side effects due or being
 * retried; and side effects given up (those handed to a lookup counted apart). Timers (an order's
 * pending timeout) wait unattempted for their time and are no work to wait for.
 */
const backlogOf = async (databaseUrl: string) => {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: QUERY_TIMEOUT_MS, query_timeout: QUERY_TIMEOUT_MS })
  await client.connect()
  try {
    const { rows } = await client.query(
      `SELECT (SELECT count(*) FROM outbox WHERE sent_at IS NULL)::int AS unsent,
              (SELECT count(*) FROM side_effects WHERE status = 'pending' AND (run_after <= now() OR attempts > 0))::int AS due,
              (SELECT count(*) FROM side_effects WHERE status = 'failed' AND kind <> ALL($1))::int AS failed,
              (SELECT count(*) FROM side_effects WHERE status = 'failed' AND kind = ANY($1))::int AS "handedToLookup"`,
      [HANDED_TO_LOOKUP]
    )
    return rows[0] as { unsent: number; due: number; failed: number; handedToLookup: number }
  } finally {
    await client.end()
  }
}

/** Messages waiting in every consumer's queue, and in its dead-letter queue. */
const queueDepths = async (mesh: Mesh) => {
  const connection = await amqplib.connect(mesh.servers.amqpUrl, { timeout: QUERY_TIMEOUT_MS })
  try {
    const channel = await connection.createChannel()
    const depths = { waiting: 0, deadLetters: 0 }
    // A service that consumes nothing (user-service) has no queue.
    for (const [consumer, types] of Object.entries(EVENT_CONSUMERS)) {
      if (types.length === 0) continue
      const names = consumerQueueNames(mesh.prefix, consumer)
      depths.waiting += (await channel.checkQueue(names.queue)).messageCount
      depths.deadLetters += (await channel.checkQueue(names.deadLetterQueue)).messageCount
    }
    return depths
  } finally {
    await connection.close()
  }
}

export const backlogsOf = (mesh: Mesh) => Promise.all(MESH_SERVICES.map((name) => backlogOf(mesh.env[name].DATABASE_URL)))

/** Payment calls given up and settled by looking the payment up, since the mesh started. */
export const handedToLookup = async (mesh: Mesh) => (await backlogsOf(mesh)).reduce((sum, backlog) => sum + backlog.handedToLookup, 0)

/** Jobs of the shop that a printer of it has not had a `print.job` of. */
const missedBy = (printer: Printers['records'][number], jobs: PrintJob[]) =>
  jobs.filter((job) => job.sellerId === printer.device.sellerId && !printer.deliveries.has(job.id))

/**
 * Waits until the market has settled (every order of its checkouts final, every outbox relayed,
 * every side effect due done, every queue drained, every print job through and every printer of
 * its shop told of it and idle, and every webhook of `stripe` taken, twice in a row). On time-out
 * it says what was still outstanding.
 */
export const settle = async ({
  mesh,
  market,
  printers,
  stripe,
  timeoutMs = 240_000
}: {
  mesh: Mesh
  market: Market
  printers: Printers
  stripe?: StripeServer
  timeoutMs?: number
}) => {
  let quietBefore = false
  let outstanding: string[] = []
  await waitFor(
    async () => {
      const [orders, jobs, backlogs, queues] = await Promise.all([
        ordersOf(mesh, market),
        printJobsOf(mesh, market),
        backlogsOf(mesh),
        queueDepths(mesh)
      ])
      const count = (what: string, n: number) => (n > 0 ? [`${n} ${what}`] : [])
      outstanding = [
        ...count('orders not final', orders.filter((order) => !FINAL_STATUSES.includes(order.status)).length),
        ...count(
          'events not relayed',
          backlogs.reduce((sum, backlog) => sum + backlog.unsent, 0)
        ),
        ...count(
          'side effects due',
          backlogs.reduce((sum, backlog) => sum + backlog.due, 0)
        ),
        ...count('messages queued', queues.waiting),
        ...count('print jobs queued or printing', jobs.filter((job) => ['queued', 'printing'].includes(job.status)).length),
        ...count(
          'print jobs a printer has not had',
          printers.records.reduce((sum, printer) => sum + missedBy(printer, jobs).length, 0)
        ),
        ...count(
          'print jobs a printer is still on',
          printers.records.reduce((sum, printer) => sum + printer.busy, 0)
        ),
        ...count('Stripe webhooks not taken', stripe?.webhookBacklog() ?? 0)
      ]
      const quiet = outstanding.length === 0
      const settled = quiet && quietBefore
      quietBefore = quiet
      return settled
    },
    { what: 'the market to settle', timeoutMs, intervalMs: 1_000 }
  ).catch((error: Error) => {
    throw new Error(`${error.message}; still outstanding: ${outstanding.join(', ')}`)
  })
}

/** Values that occur more than once. */
const repeated = <T>(values: T[]) => values.filter((value, index) => values.indexOf(value) !== index)

/** What the print jobs and printers say once settled. */
const printAccounts = (orders: Order[], jobs: PrintJob[], printers: Printers) => {
  const originals = jobs.filter((job) => !job.copy)
  const paidIds = new Set(orders.filter((order) => order.status === 'paid').map((order) => order.id))
  const winners = (job: PrintJob) => printers.records.filter((printer) => printer.won.includes(job.id)).map((printer) => printer.device.id)
  const deliveries = printers.records.flatMap((printer) => [...printer.deliveries.values()])
  return {
    jobs: jobs.length,
    printed: jobs.filter((job) => job.status === 'printed').length,
    /** Per paid order, its original jobs (1 each). */
    originalsPerPaidOrder: [...paidIds].map((id) => originals.filter((job) => job.orderId === id).length),
    /** Jobs of orders that were never paid: none. */
    jobsOfUnpaidOrders: jobs.filter((job) => !paidIds.has(job.orderId)).map((job) => `${job.id} of order ${job.orderId}`),
    notPrinted: originals.filter((job) => job.status !== 'printed').map((job) => `${job.id}: ${job.status}`),
    /** Jobs whose claim did not go to exactly one printer, the one the job names: none printed twice, or by another. */
    notClaimedOnce: originals
      .filter((job) => winners(job).length !== 1 || winners(job)[0] !== job.deviceId)
      .map((job) => `${job.id} on ${job.deviceId}, won by [${winners(job).join(', ')}]`),
    /** Per printer, the jobs of its shop it never had a print.job of, and those of another shop it had. */
    missed: printers.records.flatMap((printer) => missedBy(printer, originals).map((job) => `${printer.device.id} missed ${job.id}`)),
    foreign: printers.records.flatMap((printer) =>
      [...printer.deliveries.keys()]
        .filter((id) => !jobs.some((job) => job.id === id && job.sellerId === printer.device.sellerId))
        .map((id) => `${printer.device.id} got ${id}`)
    ),
    /** Log ids a printer's stream brought twice: a resume repeats nothing. */
    repeatedIds: printers.records.flatMap((printer) => repeated(printer.ids).map((id) => `${printer.device.id} got message ${id} again`)),
    failures: printers.records.flatMap((printer) => printer.failures.map((failure) => `${printer.device.id}: ${failure}`)),
    printers: printers.records.length,
    claimsWon: printers.records.reduce((sum, printer) => sum + printer.won.length, 0),
    claimsLost: printers.records.reduce((sum, printer) => sum + printer.lost, 0),
    messages: deliveries.reduce((sum, times) => sum + times, 0),
    /** Messages of a job a printer had had before (still queued when it reconnected): skipped. */
    resent: deliveries.reduce((sum, times) => sum + times - 1, 0),
    connections: printers.records.reduce((sum, printer) => sum + printer.connections, 0)
  }
}

/** What the books say once settled: the counts a scenario prints and the checks it asserts. */
export const takeAccounts = async ({
  mesh,
  market,
  printers,
  checkouts,
  mails,
  stripe
}: {
  mesh: Mesh
  market: Market
  printers: Printers
  checkouts: PlacedCheckout[]
  mails: ReceivedMail[]
  /** The scenario paid through Stripe (the local server): its books are audited too. */
  stripe?: StripeServer
}) => {
  const orders = await ordersOf(mesh, market)
  const byStatus = (status: string) => orders.filter((order) => order.status === status)
  // What each order must end as, by its card: paid (or rejected, out of stock) with a good one,
  // cancelled for the failed payment (or rejected) with a declined one.
  const cardOf = new Map(checkouts.flatMap((checkout) => checkout.orderIds.map((id) => [id, checkout.card] as const)))
  const expectedEnds: Record<PlacedCheckout['card'], string[]> = { good: ['paid', 'rejected'], declined: ['cancelled', 'rejected'] }
  const endOf = (order: Order) => (order.reason ? `${order.status} (${order.reason})` : order.status)
  const paid = byStatus('paid')

  // Stock: what each product started with = what it has left + what paid orders took.
  const stock = await Promise.all(
    market.products.map(async (product) => {
      const { stock: remaining } = await call(mesh.urls.catalog, 'GET', `/products/${product.id}`)
      const sold = paid.flatMap((order) => order.lines).reduce((sum, line) => sum + (line.productId === product.id ? line.quantity : 0), 0)
      return { productId: product.id, initial: product.stock, remaining, sold }
    })
  )

  const ledger = await call(mesh.urls.order, 'GET', '/ledger', { token: adminToken() })

  // Mails of this market's orders: a buyer's confirmation and a seller's notice each name the order.
  // Counted as a mailbox shows them, by Message-ID: a copy sent again under the same id is one mail.
  const mailsOf = (order: Order) => new Set(mails.filter((mail) => mail.text.includes(order.id)).map((mail) => mail.messageId))
  const messageIds = mails.map((mail) => mail.messageId)
  const backlogs = await backlogsOf(mesh)
  const queues = await queueDepths(mesh)

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
    mailsPerPaidOrder: paid.map((order) => mailsOf(order).size),
    mailsPerUnpaidOrder: orders.filter((order) => order.status !== 'paid').map((order) => mailsOf(order).size),
    orderMails: orders.reduce((sum, order) => sum + mailsOf(order).size, 0),
    /** Mails delivered again under a Message-ID already delivered (their sender killed before it recorded them sent). */
    resentMails: messageIds.length - new Set(messageIds).size,
    failedSideEffects: backlogs.reduce((sum, backlog) => sum + backlog.failed, 0),
    handedToLookup: backlogs.reduce((sum, backlog) => sum + backlog.handedToLookup, 0),
    deadLetters: queues.deadLetters,
    printing: printAccounts(orders, await printJobsOf(mesh, market), printers),
    stripe: stripe && (await stripeAccounts({ mesh, market, stripe, orders }))
  }
}

export type Accounts = Awaited<ReturnType<typeof takeAccounts>>

/** The scenario's one summary line. */
export const summaryLine = (scenario: string, accounts: Accounts, faultSeconds: number) => {
  const { printing } = accounts
  return (
    `[faults] ${scenario}: ${accounts.checkouts} checkouts (${accounts.retried} retried, ${accounts.replayed} replayed) -> ` +
    `${accounts.orders} orders: ${accounts.paid} paid, ${accounts.rejected} rejected, ${accounts.cancelled} cancelled, ${accounts.pending} pending; ` +
    `${accounts.orderMails} order mails, ${accounts.resentMails} resent under the same Message-ID; ` +
    `${printing.jobs} print jobs, ${printing.printed} printed, on ${printing.printers} printers: ${printing.claimsWon} claims won, ` +
    `${printing.claimsLost} lost to another printer, ${printing.messages} print.job messages (${printing.resent} resent on reconnect), ` +
    `${printing.connections} stream connections; ` +
    `stock ${accounts.stock.map((product) => `${product.initial}=${product.remaining}+${product.sold}`).join(' ')}; ` +
    `trial balance ${accounts.trialBalance.map((line) => `${line.balance} ${line.currency}`).join(', ') || 'empty'}; ` +
    `${accounts.deadLetters} dead letters, ${accounts.failedSideEffects} failed side effects; ` +
    (accounts.stripe ? `${stripeSummary(accounts.stripe)}; ` : '') +
    `fault took ${faultSeconds.toFixed(1)} s`
  )
}
