import { KnexService, type KnexAdapterOptions, type KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '@marketmesh/shared'
import { payoutColumns, type Payout, type PayoutQuery } from './payouts.schema'

export type { Payout, PayoutQuery }

export type PayoutParams = KnexAdapterParams<PayoutQuery> & {
  /** Only this seller's payouts (a seller's call). */
  sellerId?: string | null
}

/** Payouts as rows of `payouts` (payouts/payout.ts makes and moves them), read only. */
export class PayoutService extends KnexService<Payout, never, PayoutParams> {
  override createQuery(params: PayoutParams = {}) {
    const builder = super.createQuery({ ...params, query: { $select: payoutColumns, ...params.query } })
    if (params.sellerId !== undefined) builder.where('payouts.sellerId', params.sellerId)
    return builder
  }
}

export const getOptions = (app: ServiceApplication): KnexAdapterOptions => ({
  paginate: app.get('paginate'),
  Model: app.get('postgresqlClient'),
  name: 'payouts'
})
