import { Forbidden } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import type { Knex, Principal, ServiceApplication } from '@marketmesh/shared'
import { ACCOUNTS } from '../../ledger/ledger'
import type { LedgerQuery, LedgerView } from './ledger.schema'

export type { LedgerQuery, LedgerView }

const ENTRY_LIMIT = 200

/**
 * GET /ledger. A seller: what is held in escrow for their orders, what is theirs to be paid out
 * (`available`), what was paid out, per order what it brings them and its payout, and the entries
 * behind it all. An admin: every account's balance per currency and the trial balance, which is
 * zero while the books are right; or (`view=commission`) the commission earned per day or month.
 */
export class LedgerService {
  constructor(private readonly app: ServiceApplication) {}

  async find(params: Params = {}): Promise<LedgerView> {
    const principal = params.principal as Principal
    const db: Knex = this.app.get('postgresqlClient')
    const query = (params.query ?? {}) as LedgerQuery
    if (principal.role === 'seller') {
      if (query.view === 'commission') throw new Forbidden('The commission earned is for admins')
      return this.ofSeller(db, principal.sellerId!)
    }
    if (principal.role !== 'admin') throw new Forbidden('The ledger is for sellers and admins')
    if (query.view === 'commission') return this.commissionPer(db, query.period ?? 'day')
    const accounts = await db('ledger_entries')
      .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
      .groupBy('account', 'currency')
      .orderBy(['account', 'currency'])
      .select('account', 'currency', db.raw('sum(amount)::bigint AS balance'))
    const totals = new Map<string, number>()
    for (const { currency, balance } of accounts) totals.set(currency, (totals.get(currency) ?? 0) + Number(balance))
    return {
      accounts: accounts.map((row) => ({ account: row.account, currency: row.currency, balance: Number(row.balance) })),
      trialBalance: [...totals].map(([currency, balance]) => ({ currency, balance }))
    }
  }

  private async ofSeller(db: Knex, sellerId: string): Promise<LedgerView> {
    const account = ACCOUNTS.seller(sellerId)
    // Escrow entries of the seller's orders, and the seller's own account.
    const entries = await db('ledger_entries')
      .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
      .join('orders', 'orders.id', 'ledger_journals.orderId')
      .where('orders.sellerId', sellerId)
      .whereIn('ledger_entries.account', [ACCOUNTS.escrow, account, ACCOUNTS.payouts])
      .orderBy('ledger_entries.id', 'desc')
      .select(
        'ledger_entries.id',
        'ledger_journals.orderId',
        'ledger_journals.kind',
        'ledger_entries.account',
        'ledger_entries.amount',
        'ledger_journals.currency',
        'ledger_entries.createdAt'
      )
    const balances = new Map<string, { held: number; available: number; paidOut: number }>()
    for (const entry of entries) {
      const balance = balances.get(entry.currency) ?? { held: 0, available: 0, paidOut: 0 }
      // Escrow and the seller's account are owed by the platform: a credit (negative) raises what
      // is held or available; the payouts account is credited by what left for the seller's bank.
      if (entry.account === ACCOUNTS.escrow) balance.held -= Number(entry.amount)
      else if (entry.account === ACCOUNTS.payouts) balance.paidOut -= Number(entry.amount)
      else balance.available -= Number(entry.amount)
      balances.set(entry.currency, balance)
    }
    return {
      balances: [...balances].map(([currency, balance]) => ({ currency, ...balance })),
      orders: await this.ordersOf(db, sellerId),
      entries: entries
        .filter((entry) => entry.account !== ACCOUNTS.payouts)
        .slice(0, ENTRY_LIMIT)
        .map((entry) => ({ ...entry, amount: Number(entry.amount) }))
    }
  }

  /** The seller's newest orders that were paid: gross, commission, refunds, net, and the newest payout's status. */
  private async ordersOf(db: Knex, sellerId: string) {
    const commission = db('ledger_entries')
      .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
      .whereRaw('ledger_journals."orderId" = orders.id')
      .where('ledger_entries.account', ACCOUNTS.commission)
      .select(db.raw('coalesce(-sum(ledger_entries.amount), 0)'))
    const refunded = db('refunds')
      .whereRaw('refunds."orderId" = orders.id')
      .where('refunds.status', 'succeeded')
      .select(db.raw('coalesce(sum(amount), 0)'))
    const payoutStatus = db('payouts').whereRaw('payouts."orderId" = orders.id').orderBy('createdAt', 'desc').limit(1).select('status')
    const rows = await db('orders')
      .where({ sellerId })
      .whereNotNull('paymentId')
      .orderBy('createdAt', 'desc')
      .limit(ENTRY_LIMIT)
      .select(
        'id',
        'currency',
        'status',
        'total',
        db.raw('(?)::bigint AS commission', [commission]),
        db.raw('(?)::bigint AS refunds', [refunded]),
        db.raw('(?) AS "payoutStatus"', [payoutStatus])
      )
    return rows.map((row) => {
      const [gross, commissionKept, refunds] = [Number(row.total), Number(row.commission), Number(row.refunds)]
      return {
        orderId: row.id,
        currency: row.currency,
        status: row.status,
        gross,
        commission: commissionKept,
        refunds,
        net: gross - commissionKept - refunds,
        payoutStatus: row.payoutStatus ?? null
      }
    })
  }

  /** The commission earned (released, less what refunds gave back) per UTC day or month. */
  private async commissionPer(db: Knex, period: 'day' | 'month'): Promise<LedgerView> {
    const format = period === 'day' ? 'YYYY-MM-DD' : 'YYYY-MM'
    const rows = await db('ledger_entries')
      .join('ledger_journals', 'ledger_journals.id', 'ledger_entries.journalId')
      .where('ledger_entries.account', ACCOUNTS.commission)
      .groupByRaw('1, 2')
      .orderByRaw('1 DESC, 2')
      .limit(ENTRY_LIMIT)
      .select(
        db.raw(`to_char(date_trunc(?, ledger_entries."createdAt" AT TIME ZONE 'UTC'), ?) AS period`, [period, format]),
        'ledger_journals.currency',
        db.raw('-sum(ledger_entries.amount)::bigint AS amount')
      )
    return { commission: rows.map((row) => ({ period: row.period, currency: row.currency, amount: Number(row.amount) })) }
  }
}
