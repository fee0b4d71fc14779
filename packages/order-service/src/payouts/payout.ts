/**
 * Paying sellers. A payout is opened for an order when its escrow is released (orders/order.ts
 * `complete`) and transferred to the seller's payout account at the checkout's provider by the
 * `payout-transfer` side effect (payments/transfer.ts), keyed `<payoutId>:transfer`: never paid
 * twice. Its amount is what the platform still owes the seller for the order when the transfer
 * starts (the net: total − commission − refunds). Without an enabled account it waits `pending`.
 *
 * A failed transfer, or one the provider reverses, puts the money back in what the platform owes
 * the seller (the ledger) and tells them (`payout.failed`, `payout.reversed`); it is paid again,
 * as a new payout (`retryOf`), once the account is enabled again (`applyAccountUpdate`). A refund
 * after the payout takes the seller's share back from the transfer (`payout-reverse`, keyed per refund).
 *
 * Direction: services/, events/ and payments/ → payouts/ → ledger/ and @marketmesh/shared.
 */
import { randomUUID } from 'node:crypto'
import { printableLine, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { owedForOrder, paidOutBy, payOut, sellerShareOfRefund, takeBackPayout } from '../ledger/ledger'

export const payoutStatuses = ['pending', 'paid', 'failed', 'reversed'] as const
export type PayoutStatus = (typeof payoutStatuses)[number]
export const payoutAccountStatuses = ['pending', 'enabled', 'restricted'] as const
export type PayoutAccountStatus = (typeof payoutAccountStatuses)[number]

/** The side effects: a payout's transfer, and a transfer's reversal for a refund. */
export const TRANSFER = 'payout-transfer'
export const REVERSE_TRANSFER = 'payout-reverse'

export interface PayoutRow {
  id: string
  sellerId: string
  orderId: string
  provider: string
  amount: number
  currency: string
  status: PayoutStatus
  reference: string | null
  accountId: string | null
  failureReason: string | null
  reversedAmount: number
  retryOf: string | null
  transferStartedAt: Date | null
  /** 1 when opened, one more per change: what its events carry. */
  version: number
  createdAt: Date
  paidAt: Date | null
}

export interface PayoutAccountRow {
  id: string
  sellerId: string
  provider: string
  accountId: string
  status: PayoutAccountStatus
  requirements: string[]
  providerUpdatedAt: Date | null
  createdAt: Date
  updatedAt: Date
}

/** An account as the provider reports it (provider interface `PayoutAccountState`). */
export interface AccountState {
  accountId: string
  status: PayoutAccountStatus
  requirements: string[]
}

/** The idempotency keys of a payout's provider calls. */
export const transferKey = (payoutId: string) => `${payoutId}:transfer`
export const reversalKey = (refundId: string) => `${refundId}:reverse`

const movementOf = (payout: Pick<PayoutRow, 'orderId' | 'sellerId' | 'currency'>) => ({
  orderId: payout.orderId,
  sellerId: payout.sellerId,
  currency: payout.currency
})

const lockPayout = (trx: Knex.Transaction, where: Partial<Pick<PayoutRow, 'id' | 'reference'>>): Promise<PayoutRow | undefined> =>
  trx('payouts').where(where).forUpdate().first()

/** Changes the payout, one revision on (`payout.version` follows). */
const revise = async (trx: Knex.Transaction, payout: PayoutRow, changes: Record<string, unknown>) => {
  await trx('payouts')
    .where({ id: payout.id })
    .update({ ...changes, version: trx.raw('version + 1') })
  payout.version += 1
}

/** The part every payout.* event carries. */
const payoutRef = (payout: PayoutRow, amount: number) => ({
  payoutId: payout.id,
  orderId: payout.orderId,
  sellerId: payout.sellerId,
  version: payout.version,
  amount,
  currency: payout.currency
})

/** The seller's enabled account at `provider`, if any. */
const enabledAccount = (trx: Knex.Transaction, sellerId: string, provider: string): Promise<PayoutAccountRow | undefined> =>
  trx('payout_accounts').where({ sellerId, provider, status: 'enabled' }).first()

/**
 * Starts a pending payout's transfer when the seller's account is enabled: its amount fixed to
 * what is owed for the order now (nothing owed, e.g. refunded since: `reversed`, nothing to pay).
 */
const startTransfer = async (app: ServiceApplication, trx: Knex.Transaction, payout: PayoutRow) => {
  const account = await enabledAccount(trx, payout.sellerId, payout.provider)
  if (!account) return
  const amount = await owedForOrder(trx, movementOf(payout))
  if (amount <= 0) {
    await revise(trx, payout, { status: 'reversed', amount: 0, failureReason: 'refunded before payout' })
    return
  }
  await revise(trx, payout, { amount, accountId: account.accountId, transferStartedAt: trx.fn.now() })
  // The order named too: its id goes on the effect's span (the payout's trace is the delivery's).
  await app.get('events').effects.schedule(trx, TRANSFER, payout.id, { payoutId: payout.id, orderId: payout.orderId })
}

/**
 * A payout for the order, at the release of its escrow (or to pay again `retryOf`), transferred at
 * once when the seller's account is enabled, else waiting for it.
 */
export const openPayout = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  order: { orderId: string; sellerId: string; currency: string; provider: string },
  retryOf: string | null = null
) => {
  const owed = await owedForOrder(trx, order)
  if (owed <= 0) return
  const [payout]: PayoutRow[] = await trx('payouts')
    .insert({ id: randomUUID(), ...order, amount: owed, status: 'pending', retryOf })
    .onConflict('retryOf')
    .ignore()
    .returning('*')
  if (payout) await startTransfer(app, trx, payout)
}

/** The transfer was made as `reference`: the payout is paid, and the ledger says so. */
export const payoutPaid = async (app: ServiceApplication, trx: Knex.Transaction, payoutId: string, reference: string) => {
  const payout = await lockPayout(trx, { id: payoutId })
  if (!payout || payout.status !== 'pending') return
  await revise(trx, payout, { status: 'paid', reference, paidAt: trx.fn.now(), failureReason: null })
  await payOut(trx, movementOf(payout), payout)
  await app.get('events').emit(trx, 'payout.paid', { ...payoutRef(payout, payout.amount), reference })
}

/**
 * The provider refused the transfer, or failed it after: what it had moved comes back to what is
 * owed to the seller. The provider's reason reaches the seller's stream and mail: one printable line.
 */
const payoutFailed = async (app: ServiceApplication, trx: Knex.Transaction, payout: PayoutRow, providerReason: string) => {
  if (payout.status !== 'pending' && payout.status !== 'paid') return
  const reason = printableLine(providerReason).trim().slice(0, 500) || 'refused by the provider'
  await revise(trx, payout, { status: 'failed', failureReason: reason })
  const moved = await paidOutBy(trx, movementOf(payout), payout.id)
  if (moved > 0) await takeBackPayout(trx, movementOf(payout), { id: payout.id, amount: moved }, 'failed')
  await app.get('events').emit(trx, 'payout.failed', { ...payoutRef(payout, payout.amount), reason })
}

/** The `payout-transfer` side effect's refusal. */
export const transferRefused = async (app: ServiceApplication, trx: Knex.Transaction, payoutId: string, reason: string) => {
  const payout = await lockPayout(trx, { id: payoutId })
  if (payout) await payoutFailed(app, trx, payout, reason)
}

/** The provider's `transfer.failed` (for money's webhook route). */
export const applyTransferFailed = async (app: ServiceApplication, trx: Knex.Transaction, event: { transferId: string; reason: string }) => {
  const payout = await lockPayout(trx, { reference: event.transferId })
  if (payout) await payoutFailed(app, trx, payout, event.reason)
}

/**
 * The provider's `transfer.reversed` (for money's webhook route), `amount` being all that is
 * reversed of the transfer so far (Stripe: `amount_reversed`), so events in any order and twice
 * count once. Reversals beyond those asked for refunds were the provider's: that money is owed
 * to the seller again (and paid again once their account is enabled).
 */
export const applyTransferReversed = async (app: ServiceApplication, trx: Knex.Transaction, event: { transferId: string; amount: number }) => {
  const payout = await lockPayout(trx, { reference: event.transferId })
  if (!payout || event.amount <= payout.reversedAmount) return
  const taken = event.amount - payout.reversedAmount
  await revise(trx, payout, { status: 'reversed', reversedAmount: event.amount })
  await takeBackPayout(trx, movementOf(payout), { id: payout.id, amount: taken }, `reversed:${event.amount}`)
  await app.get('events').emit(trx, 'payout.reversed', { ...payoutRef(payout, taken), reason: 'provider' })
}

/**
 * A refund of the order paid back after its release: the seller's share comes back from the
 * payout's transfer, if one was started (before that, the payout's amount is fixed when it starts).
 */
export const reverseForRefund = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  order: { orderId: string; sellerId: string; currency: string },
  refundId: string
) => {
  const share = await sellerShareOfRefund(trx, order, refundId)
  if (share <= 0) return
  const payout: PayoutRow | undefined = await trx('payouts')
    .where({ orderId: order.orderId })
    .whereIn('status', ['pending', 'paid'])
    .whereNotNull('transferStartedAt')
    .orderBy('createdAt', 'desc')
    .forUpdate()
    .first()
  if (!payout) return
  const amount = Math.min(share, payout.amount - payout.reversedAmount)
  if (amount <= 0) return
  // Counted as reversed now: the provider's transfer.reversed for it, whenever it comes, is ours.
  await revise(trx, payout, { reversedAmount: payout.reversedAmount + amount })
  await app.get('events').effects.schedule(trx, REVERSE_TRANSFER, refundId, { payoutId: payout.id, orderId: order.orderId, refundId, amount })
}

/** The reversal for `refundId` made at the provider: the ledger takes it back, `reversed` once all of it is. */
export const transferReversed = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  reversal: { payoutId: string; refundId: string; amount: number }
) => {
  const payout = await lockPayout(trx, { id: reversal.payoutId })
  if (!payout) return
  const posted = await takeBackPayout(trx, movementOf(payout), { id: payout.id, amount: reversal.amount }, `refund:${reversal.refundId}`)
  if (!posted) return
  const fully = (await paidOutBy(trx, movementOf(payout), payout.id)) <= 0
  await revise(trx, payout, fully ? { status: 'reversed' } : {})
  await app.get('events').emit(trx, 'payout.reversed', { ...payoutRef(payout, reversal.amount), reason: 'refund' })
}

/**
 * The provider's `account.updated` (money's webhook route calls it; POST /payout-accounts too):
 * the account's status and requirements, unless a newer update was applied (`observedAt`, the
 * event's `created`). Enabled: the seller's waiting payouts start, and the failed or reversed ones
 * are paid again. Returns the account, or undefined when it is not one of ours.
 */
export const applyAccountUpdate = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  account: AccountState,
  observedAt: Date = new Date()
): Promise<PayoutAccountRow | undefined> => {
  const [row]: PayoutAccountRow[] = await trx('payout_accounts')
    .where({ accountId: account.accountId })
    .where((query) => query.whereNull('providerUpdatedAt').orWhere('providerUpdatedAt', '<=', observedAt))
    .update({ status: account.status, requirements: JSON.stringify(account.requirements), providerUpdatedAt: observedAt, updatedAt: trx.fn.now() })
    .returning('*')
  if (!row) return trx('payout_accounts').where({ accountId: account.accountId }).first()
  if (row.status !== 'enabled') return row
  const waiting: PayoutRow[] = await trx('payouts')
    .where({ sellerId: row.sellerId, provider: row.provider, status: 'pending' })
    .whereNull('transferStartedAt')
    .forUpdate()
  for (const payout of waiting) await startTransfer(app, trx, payout)
  const toRetry: PayoutRow[] = await trx('payouts as p')
    .where({ 'p.sellerId': row.sellerId, 'p.provider': row.provider })
    .whereIn('p.status', ['failed', 'reversed'])
    .whereNotExists(trx('payouts as retry').whereRaw('retry."retryOf" = p.id'))
    .select('p.*')
  for (const payout of toRetry) await openPayout(app, trx, { ...movementOf(payout), provider: payout.provider }, payout.id)
  return row
}
