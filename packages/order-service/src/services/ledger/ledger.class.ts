import { Forbidden } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import type { Knex, Principal, ServiceApplication } from '@marketmesh/shared'
import { ACCOUNTS } from '../../ledger/ledger'
import type { LedgerView } from './ledger.schema'

export type { LedgerView }

const ENTRY_LIMIT = 200

/**
 * GET /ledger. A seller: what is held in escrow for their orders, what is theirs to be paid out
 * (`available`), and the entries behind both. An admin: every account's balance per currency and
 * the trial balance, which is zero while the books are right.
 */
export class LedgerService {
  constructor(private readonly app: ServiceApplication) {}

  async find(params: Params = {}): Promise<LedgerView> {
    const principal = params.principal as Principal
    const db: Knex = this.app.get('postgresqlClient')
    if (principal.role === 'seller') return this.ofSeller(db, principal.sellerId!)
    if (principal.role !== 'admin') throw new Forbidden('The ledger is for sellers and admins')
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
      .whereIn('ledger_entries.account', [ACCOUNTS.escrow, account])
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
    const balances = new Map<string, { held: number; available: number }>()
    for (const entry of entries) {
      const balance = balances.get(entry.currency) ?? { held: 0, available: 0 }
      // Both accounts are owed by the platform: a credit (negative) raises what is held or available.
      if (entry.account === ACCOUNTS.escrow) balance.held -= Number(entry.amount)
      else balance.available -= Number(entry.amount)
      balances.set(entry.currency, balance)
    }
    return {
      balances: [...balances].map(([currency, balance]) => ({ currency, ...balance })),
      entries: entries.slice(0, ENTRY_LIMIT).map((entry) => ({ ...entry, amount: Number(entry.amount) }))
    }
  }
}
