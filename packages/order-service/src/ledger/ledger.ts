import { randomUUID } from 'node:crypto'
import type { Knex } from '@marketmesh/shared'

/** The accounts of the escrow ledger (one set per currency: a journal has one currency). */
export const ACCOUNTS = {
  /** Money received through the payment providers. */
  payments: 'payments',
  /** Held for orders paid and not yet released to their sellers. */
  escrow: 'escrow',
  /** The platform's share of released orders. */
  commission: 'commission',
  /** Money returned to buyers. */
  refunds: 'refunds',
  /** Money transferred to sellers' payout accounts (less what came back: failed or reversed transfers). */
  payouts: 'payouts',
  /** What the platform owes a seller. */
  seller: (sellerId: string) => `seller:${sellerId}`
}

type Entry = [account: string, amount: number]

interface Journal {
  orderId: string
  kind: string
  currency: string
  entries: Entry[]
}

// One journal per order and kind: posting it again inserts nothing.
const journalInsert = (trx: Knex.Transaction, { orderId, kind, currency }: Journal) =>
  trx('ledger_journals').insert({ id: randomUUID(), orderId, kind, currency }).onConflict(['orderId', 'kind']).ignore().returning('id')

// The entries, into the journal that the CTE `journal` returns (none when it was posted before).
const entriesInsert = (query: Knex.QueryBuilder, trx: Knex.Transaction, entries: Entry[]) =>
  query
    .insert(
      trx
        .select('journal.id', 'entry.account', 'entry.amount')
        .from(
          trx.raw('journal, unnest(?::text[], ?::bigint[]) AS entry (account, amount)', [
            entries.map(([account]) => account),
            entries.map(([, amount]) => amount)
          ])
        )
    )
    .into(trx.raw('?? (??, ??, ??)', ['ledger_entries', 'journalId', 'account', 'amount']))

const nonZero = (entries: Entry[]) => entries.filter(([, amount]) => amount !== 0)

/**
 * Posts one journal (debits +, credits −, summing to zero: the database refuses one that does
 * not) once per order and kind, with its entries in the same statement. False when that journal
 * was already posted.
 */
export const postJournal = async (trx: Knex.Transaction, journal: Journal) => {
  const entries = nonZero(journal.entries)
  if (entries.length === 0) return (await journalInsert(trx, journal)).length > 0
  const inserted = await entriesInsert(trx.with('journal', journalInsert(trx, journal)), trx, entries).returning('journalId')
  return inserted.length > 0
}

/**
 * `postJournal` as writes for a statement of the caller's (an order's move), one round trip less
 * on a hot path: run each as a CTE of it, in this order (`statement.with(name, write)`).
 */
export const journalAlongside = (trx: Knex.Transaction, journal: Journal): Array<[name: string, write: Knex.QueryBuilder]> => {
  const entries = nonZero(journal.entries)
  return [
    ['journal', journalInsert(trx, journal)],
    ...(entries.length > 0 ? [['journal_entries', entriesInsert(trx.queryBuilder(), trx, entries)] as [string, Knex.QueryBuilder]] : [])
  ]
}

/** The commission on an amount: `percent` of it, rounded half up to the minor unit; the seller gets the rest. */
export const commissionOn = (amount: number, percent: number) => Math.floor((amount * percent) / 100 + 0.5)

interface Movement {
  orderId: string
  sellerId: string
  currency: string
}

/** An order paid: its total is held in escrow (written alongside its move to `paid`). */
export const holdPayment = (trx: Knex.Transaction, order: Movement & { total: number }) =>
  journalAlongside(trx, {
    ...order,
    kind: 'payment',
    entries: [
      [ACCOUNTS.payments, order.total],
      [ACCOUNTS.escrow, -order.total]
    ]
  })

/** What an order still holds in escrow (paid less refunded before release). */
export const heldFor = async (trx: Knex.Transaction, orderId: string) => {
  const [{ held }] = await trx('ledger_entries')
    .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
    .where({ 'ledger_journals.orderId': orderId, 'ledger_entries.account': ACCOUNTS.escrow })
    .select(trx.raw('coalesce(-sum(amount), 0)::bigint AS held'))
  return Number(held)
}

/** The escrow goes to the seller, less the commission. Returns both amounts. */
export const releaseEscrow = async (trx: Knex.Transaction, order: Movement, commissionPercent: number) => {
  const held = await heldFor(trx, order.orderId)
  const commission = commissionOn(held, commissionPercent)
  const payout = held - commission
  await postJournal(trx, {
    ...order,
    kind: 'release',
    entries: [
      [ACCOUNTS.escrow, held],
      [ACCOUNTS.seller(order.sellerId), -payout],
      [ACCOUNTS.commission, -commission]
    ]
  })
  return { payout, commission }
}

/** `part` of `whole`, times `amount`, rounded half up to the minor unit (exact for any amounts). */
const shareOf = (amount: number, part: number, whole: number) =>
  whole === 0 ? 0 : Number((2n * BigInt(amount) * BigInt(part) + BigInt(whole)) / (2n * BigInt(whole)))

/**
 * Money back to the buyer: from escrow while it is held; after the release, from the seller's
 * credit and the commission. The commission gives back its share of everything refunded since
 * the release less what earlier refunds took from it, so refunds in parts reverse to the minor
 * unit what one refund of their sum would, and a refund of all gives back the whole commission.
 */
export const refundToBuyer = async (trx: Knex.Transaction, order: Movement, refund: { id: string; amount: number }) => {
  const entries: Array<{ kind: string; account: string; amount: string }> = await trx('ledger_entries')
    .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
    .where({ 'ledger_journals.orderId': order.orderId })
    .select('ledger_journals.kind', 'ledger_entries.account', 'ledger_entries.amount')
  const kind = `refund:${refund.id}`
  const release = entries.filter((entry) => entry.kind === 'release')
  if (release.length === 0) {
    return postJournal(trx, {
      ...order,
      kind,
      entries: [
        [ACCOUNTS.escrow, refund.amount],
        [ACCOUNTS.refunds, -refund.amount]
      ]
    })
  }
  const seller = ACCOUNTS.seller(order.sellerId)
  const sum = (rows: typeof entries) => rows.reduce((total, { amount }) => total + Number(amount), 0)
  const released = -sum(release.filter(({ account }) => account !== ACCOUNTS.escrow))
  const commission = -sum(release.filter(({ account }) => account === ACCOUNTS.commission))
  // Refunds after the release took from the seller and the commission exactly what they paid back.
  const earlier = entries.filter((entry) => entry.kind.startsWith('refund:') && (entry.account === seller || entry.account === ACCOUNTS.commission))
  const refundedBefore = sum(earlier)
  const reversedBefore = sum(earlier.filter(({ account }) => account === ACCOUNTS.commission))
  const commissionShare = shareOf(commission, refundedBefore + refund.amount, released) - reversedBefore
  return postJournal(trx, {
    ...order,
    kind,
    entries: [
      [seller, refund.amount - commissionShare],
      [ACCOUNTS.commission, commissionShare],
      [ACCOUNTS.refunds, -refund.amount]
    ]
  })
}

/** What the platform still owes the seller for an order: released to them, less refunds and payouts. */
export const owedForOrder = async (trx: Knex.Transaction, order: Movement) => {
  const [{ owed }] = await trx('ledger_entries')
    .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
    .where({ 'ledger_journals.orderId': order.orderId, 'ledger_entries.account': ACCOUNTS.seller(order.sellerId) })
    .select(trx.raw('coalesce(-sum(amount), 0)::bigint AS owed'))
  return Number(owed)
}

/**
 * Payout journals are kinds `payout:<payoutId>` (the transfer made) and `payout:<payoutId>:<why>`
 * (money that came back: a failed transfer, a reversal). What a payout has moved to the seller so
 * far, net of what came back.
 */
export const paidOutBy = async (trx: Knex.Transaction, order: Movement, payoutId: string) => {
  const [{ paid }] = await trx('ledger_entries')
    .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
    .where({ 'ledger_journals.orderId': order.orderId, 'ledger_entries.account': ACCOUNTS.payouts })
    .where((query) => query.where('ledger_journals.kind', `payout:${payoutId}`).orWhereLike('ledger_journals.kind', `payout:${payoutId}:%`))
    .select(trx.raw('coalesce(-sum(amount), 0)::bigint AS paid'))
  return Number(paid)
}

/** A transfer to the seller made: what the platform owes them goes down by `amount`. */
export const payOut = (trx: Knex.Transaction, order: Movement, payout: { id: string; amount: number }) =>
  postJournal(trx, {
    ...order,
    kind: `payout:${payout.id}`,
    entries: [
      [ACCOUNTS.seller(order.sellerId), payout.amount],
      [ACCOUNTS.payouts, -payout.amount]
    ]
  })

/**
 * Money of a payout came back from the seller's account (`why`: the transfer failed, was reversed
 * for a refund, or by the provider): what the platform owes the seller goes up by `amount` again.
 */
export const takeBackPayout = (trx: Knex.Transaction, order: Movement, payout: { id: string; amount: number }, why: string) =>
  postJournal(trx, {
    ...order,
    kind: `payout:${payout.id}:${why}`,
    entries: [
      [ACCOUNTS.payouts, payout.amount],
      [ACCOUNTS.seller(order.sellerId), -payout.amount]
    ]
  })

/** What a refund took from the seller's credit (after the release; 0 before it, when it came out of escrow). */
export const sellerShareOfRefund = async (trx: Knex.Transaction, order: Movement, refundId: string) => {
  const [{ share }] = await trx('ledger_entries')
    .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
    .where({
      'ledger_journals.orderId': order.orderId,
      'ledger_journals.kind': `refund:${refundId}`,
      'ledger_entries.account': ACCOUNTS.seller(order.sellerId)
    })
    .select(trx.raw('coalesce(sum(amount), 0)::bigint AS share'))
  return Number(share)
}
