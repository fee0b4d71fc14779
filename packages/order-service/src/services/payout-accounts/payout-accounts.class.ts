import { Conflict } from '@feathersjs/errors'
import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import { runInTransaction } from '@marketmesh/events'
import { invalidField, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { randomUUID } from 'node:crypto'
import { paymentProviders } from '../../payments'
import { applyAccountUpdate, type PayoutAccountRow } from '../../payouts/payout'
import { payoutAccountSchema, type PayoutAccount, type PayoutAccountData, type PayoutAccountQuery } from './payout-accounts.schema'

export type { PayoutAccount, PayoutAccountData, PayoutAccountQuery }

export type PayoutAccountParams = KnexAdapterParams<PayoutAccountQuery> & {
  /** Only this seller's accounts (a seller's call). */
  sellerId?: string | null
}

/**
 * Sellers' payout accounts at the payment providers. Creating one opens it at the provider (once
 * per seller and provider: the call's idempotency key is theirs, and a second POST answers the
 * account there is) and answers a fresh onboarding link; its status then follows the provider's
 * `account.updated` (payouts/payout.ts `applyAccountUpdate`).
 */
export class PayoutAccountService extends KnexService<PayoutAccount, PayoutAccountData, PayoutAccountParams> {
  private readonly providers: ReturnType<typeof paymentProviders>

  constructor(
    options: KnexAdapterOptions,
    private readonly app: ServiceApplication
  ) {
    super(options)
    this.providers = paymentProviders(app)
  }

  override async create(data: PayoutAccountData, params?: PayoutAccountParams): Promise<PayoutAccount>
  override async create(data: PayoutAccountData[], params?: PayoutAccountParams): Promise<PayoutAccount[]>
  override async create(data: PayoutAccountData | PayoutAccountData[], params: PayoutAccountParams = {}): Promise<PayoutAccount | PayoutAccount[]> {
    if (Array.isArray(data)) throw new Error('payout-accounts.create takes one account')
    const sellerId = params.sellerId
    if (!sellerId) throw new Conflict('Only a seller with a shop has a payout account')
    const provider = Object.hasOwn(this.providers, data.provider) ? this.providers[data.provider] : undefined
    if (!provider) throw invalidField('provider', `must be one of ${Object.keys(this.providers).join(', ')}`)
    const db: Knex = this.app.get('postgresqlClient')
    let account: PayoutAccountRow | undefined = await db('payout_accounts').where({ sellerId, provider: data.provider }).first()
    if (!account) {
      const seller = await db('users').where({ id: sellerId }).first('email')
      if (!seller?.email) throw new Conflict(`Seller ${sellerId} is not known to order-service yet: try again in a moment`)
      const state = await provider.createAccount({
        idempotencyKey: `${sellerId}:${data.provider}:account`,
        sellerId,
        email: seller.email,
        country: data.country
      })
      account = await runInTransaction(db, async (trx) => {
        await trx('payout_accounts')
          .insert({ id: randomUUID(), sellerId, provider: data.provider, accountId: state.accountId, status: 'pending' })
          .onConflict(['sellerId', 'provider'])
          .ignore()
        // As the provider's first `account.updated` would: an account enabled at once starts the seller's waiting payouts.
        return applyAccountUpdate(this.app, trx, state, new Date(0))
      })
    }
    const link = await provider.onboardingLink({
      accountId: account!.accountId,
      returnUrl: data.returnUrl,
      refreshUrl: data.refreshUrl ?? data.returnUrl
    })
    // The row as the schema shows it: its bookkeeping columns (`providerUpdatedAt`) stay inside.
    const shown = Object.fromEntries(
      Object.keys(payoutAccountSchema.properties).flatMap((key) => (key in account! ? [[key, account![key as keyof PayoutAccountRow]]] : []))
    )
    return { ...(shown as PayoutAccount), onboardingUrl: link.url }
  }

  override createQuery(params: PayoutAccountParams = {}) {
    const builder = super.createQuery(params)
    if (params.sellerId !== undefined) builder.where('payout_accounts.sellerId', params.sellerId)
    return builder
  }
}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'payout_accounts'
})
