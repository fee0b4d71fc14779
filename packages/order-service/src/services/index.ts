import type { ServiceApplication } from '@marketmesh/shared'
import { idempotencyKeyPurge } from '../idempotency-keys'
import { orderMetrics } from '../metrics'
import { checkout } from './checkouts/checkouts'
import { ledger } from './ledger/ledger'
import { order } from './orders/orders'
import { payoutAccount } from './payout-accounts/payout-accounts'
import { payout } from './payouts/payouts'
import { paymentWebhook } from './payment-webhooks/payment-webhooks'
import { refund } from './refunds/refunds'

export const services = (app: ServiceApplication) => {
  app.configure(orderMetrics)
  app.configure(checkout)
  app.configure(idempotencyKeyPurge)
  app.configure(order)
  app.configure(refund)
  app.configure(ledger)
  app.configure(payoutAccount)
  app.configure(payout)
  app.configure(paymentWebhook)
}
