import type { MigrationList } from '@marketmesh/shared'
import * as readModels from './0001_read_models'
import * as orders from './0002_orders'
import * as idempotencyKeys from './0003_idempotency_keys'
import * as payments from './0004_payments'
import * as ledgerAndRefunds from './0005_ledger_and_refunds'
import * as paymentLookups from './0006_payment_lookups'
import * as checkoutPayments from './0007_checkout_payments'
import * as payouts from './0008_payouts'
import * as rateLimits from './0009_rate_limits'
import * as orderVersion from './0010_order_version'

/** This service's migrations, run in name order after the event backbone's. */
export const migrations: MigrationList = {
  '0001_read_models': readModels,
  '0002_orders': orders,
  '0003_idempotency_keys': idempotencyKeys,
  '0004_payments': payments,
  '0005_ledger_and_refunds': ledgerAndRefunds,
  '0006_payment_lookups': paymentLookups,
  '0007_checkout_payments': checkoutPayments,
  '0008_payouts': payouts,
  '0009_rate_limits': rateLimits,
  '0010_order_version': orderVersion
}
