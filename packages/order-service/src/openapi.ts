import { Type } from '@feathersjs/typebox'
import { kitRoutes, noQuerySchema, tokenCheckDoc, type ApiDescription } from '@marketmesh/shared'
import { checkoutDataSchema, checkoutSchema } from './services/checkouts/checkouts.schema'
import { ledgerQuerySchema, ledgerViewSchema } from './services/ledger/ledger.schema'
import { orderPatchSchema, orderQuerySchema, orderSchema } from './services/orders/orders.schema'
import { payoutAccountDataSchema, payoutAccountQuerySchema, payoutAccountSchema } from './services/payout-accounts/payout-accounts.schema'
import { payoutQuerySchema, payoutSchema } from './services/payouts/payouts.schema'
import { refundDataSchema, refundQuerySchema, refundSchema } from './services/refunds/refunds.schema'

// A refund as callers get it: who asked for it and the provider's reference for admins only (refundExternalResolver).
const refundAnswer = Type.Object(
  {
    ...refundSchema.properties,
    by: Type.Optional(refundSchema.properties.by),
    refundReference: Type.Optional(refundSchema.properties.refundReference)
  },
  { $id: 'Refund', additionalProperties: false }
)

/** order-service's API, as GET /openapi.json serves it (docs/openapi.md). */
export const api: ApiDescription = {
  title: 'order-service',
  description: 'Checkouts and their payment, orders and their saga, refunds, the ledger, payout accounts and payouts.',
  server: 'http://localhost:3033',
  services: {
    authentication: tokenCheckDoc,
    checkouts: {
      result: checkoutSchema,
      data: checkoutDataSchema,
      query: noQuerySchema,
      roles: ['buyer'],
      methods: {
        create: {
          summary: 'Check out: one pending order per seller, one payment authorized for all of them',
          description: 'Verified e-mails only (403 otherwise). Answers once the provider has answered the authorization.',
          idempotencyKey: true,
          errors: [429]
        }
      }
    },
    orders: {
      result: orderSchema,
      patch: orderPatchSchema,
      query: orderQuerySchema,
      errors: [409],
      methods: {
        find: { summary: 'One’s orders (a buyer’s, a seller’s shop’s; admins: all)' },
        patch: { summary: 'Move an order on (seller: ship with tracking; buyer: confirm delivery, cancel; admin)', errors: [403, 409] }
      }
    },
    refunds: {
      result: refundAnswer,
      data: refundDataSchema,
      query: refundQuerySchema,
      roles: ['buyer', 'seller', 'admin'],
      errors: [409],
      methods: { create: { summary: 'Refund (part of) an order’s captured payment', roles: ['admin'], idempotencyKey: true } }
    },
    ledger: {
      result: ledgerViewSchema,
      query: ledgerQuerySchema,
      roles: ['seller', 'admin'],
      methods: { find: { summary: 'A shop’s balances and entries (admins: the trial balance)', result: ledgerViewSchema } }
    },
    'payout-accounts': {
      result: payoutAccountSchema,
      data: payoutAccountDataSchema,
      query: payoutAccountQuerySchema,
      roles: ['seller', 'admin'],
      errors: [409, 429],
      methods: { create: { summary: 'Connect the shop’s payout account at a provider', roles: ['seller'] } }
    },
    payouts: { result: payoutSchema, query: payoutQuerySchema, roles: ['seller', 'admin'] },
    'payment-webhooks/:provider': {
      tag: 'payment-webhooks',
      description:
        'Called by the payment provider, signed with its scheme (Stripe: the Stripe-Signature header over the raw body); no caller credentials.',
      access: 'public',
      pathParameters: { provider: Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', examples: ['stripe'] }) },
      result: Type.Object({ received: Type.Literal(true), handled: Type.Boolean() }, { $id: 'PaymentWebhookReceipt', additionalProperties: false }),
      data: Type.Record(Type.String(), Type.Unknown(), { description: 'The provider’s event, as it signed it' }),
      query: noQuerySchema,
      methods: { create: { summary: 'A payment provider’s webhook', status: 200 } }
    }
  },
  routes: kitRoutes('http://localhost:4033')
}
