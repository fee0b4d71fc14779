import { Type, type Static } from '@feathersjs/typebox'
import { baseEnvironment, durationSetting, serviceSettingsSchema } from '@marketmesh/shared'

export const settingsSchema = serviceSettingsSchema({
  /** Page sizes of the lists (`$limit`): the default and the most a caller may ask for. */
  paginate: Type.Object({
    default: Type.Integer({ minimum: 1 }),
    max: Type.Integer({ minimum: 1 })
  }),
  /** How long the response to a request with an Idempotency-Key is kept for its replays, e.g. `24h`. */
  idempotencyKeyTtl: durationSetting,
  /** A pending order whose payment has not started by then is cancelled (reason `timeout`). */
  orderPendingTimeout: durationSetting,
  /** A shipped order its buyer has not confirmed by then counts as delivered. */
  autoDeliverAfter: durationSetting,
  /** How long after delivery the escrow goes to the seller (`0`: at once). */
  escrowReleaseAfter: durationSetting,
  /** The platform's share of an order's total, in percent, kept when the escrow is released. */
  commissionPercent: Type.Number({ minimum: 0, maximum: 100 }),
  /** Only buyers whose access token says their email is verified (`email_verified`) may check out; on in production. */
  requireVerifiedEmail: Type.Boolean(),
  /** Only sellers with an enabled payout account (POST /payout-accounts) can be bought from; on in production. */
  requirePayoutAccount: Type.Boolean(),
  /** The built-in `test` payment provider (tok_ok, tok_declined, …), which moves no money: on in development, off in production. */
  paymentTestProvider: Type.Boolean(),
  /** The secret the `test` provider signs its webhooks with (at least 16 characters while it is on). */
  paymentTestWebhookSecret: Type.String(),
  /** POST /payout-accounts: how many a seller may make within the window (each asks the provider; then 429). */
  payoutAccountRateLimit: Type.Object({
    window: durationSetting,
    maxPerSeller: Type.Integer({ minimum: 1 })
  }),
  /** POST /payment-webhooks/:provider: how many requests a source IP may make within the window (then 429; a provider retries later). */
  paymentWebhookRateLimit: Type.Object({
    window: durationSetting,
    maxPerIp: Type.Integer({ minimum: 1 })
  }),
  /** How long POST /checkouts waits for the provider's answer to the authorization before answering `authorizing`, e.g. `5s`. */
  checkoutPaymentWait: durationSetting,
  /**
   * How far a provider's lookup of a payment by its key may lag behind the payment (Stripe's search:
   * about a minute): a lost authorization not found is looked up again this much later, and a hold found then released.
   */
  paymentLookupLag: durationSetting,
  /** The Stripe provider, registered as `stripe` when a secret key is set (docs/stripe.md). */
  stripe: Type.Optional(
    Type.Object({
      secretKey: Type.Optional(Type.String({ minLength: 1 })),
      /** The signing secret of the webhook endpoint (`whsec_…`); required with a secret key. */
      webhookSecret: Type.Optional(Type.String({ minLength: 1 })),
      /** The signing secret of a second endpoint for connected accounts' events (`account.updated`), when it is apart. */
      connectWebhookSecret: Type.Optional(Type.String({ minLength: 1 })),
      /** Where Stripe's API is: only tests point it at a local Stripe-compatible server. */
      apiUrl: Type.Optional(Type.String({ pattern: '^https?://' }))
    })
  )
})

export const environment: typeof baseEnvironment = {
  ...baseEnvironment,
  PAGINATE_DEFAULT: 'paginate.default',
  PAGINATE_MAX: 'paginate.max',
  IDEMPOTENCY_KEY_TTL: 'idempotencyKeyTtl',
  ORDER_PENDING_TIMEOUT: 'orderPendingTimeout',
  AUTO_DELIVER_AFTER: 'autoDeliverAfter',
  ESCROW_RELEASE_AFTER: 'escrowReleaseAfter',
  COMMISSION_PERCENT: 'commissionPercent',
  REQUIRE_VERIFIED_EMAIL: 'requireVerifiedEmail',
  REQUIRE_PAYOUT_ACCOUNT: 'requirePayoutAccount',
  PAYMENT_TEST_PROVIDER: 'paymentTestProvider',
  PAYMENT_TEST_WEBHOOK_SECRET: 'paymentTestWebhookSecret',
  CHECKOUT_PAYMENT_WAIT: 'checkoutPaymentWait',
  PAYMENT_LOOKUP_LAG: 'paymentLookupLag',
  PAYOUT_ACCOUNT_RATE_LIMIT_WINDOW: 'payoutAccountRateLimit.window',
  PAYOUT_ACCOUNT_RATE_LIMIT_PER_SELLER: 'payoutAccountRateLimit.maxPerSeller',
  PAYMENT_WEBHOOK_RATE_LIMIT_WINDOW: 'paymentWebhookRateLimit.window',
  PAYMENT_WEBHOOK_RATE_LIMIT_PER_IP: 'paymentWebhookRateLimit.maxPerIp',
  STRIPE_SECRET_KEY: 'stripe.secretKey',
  STRIPE_WEBHOOK_SECRET: 'stripe.webhookSecret',
  STRIPE_CONNECT_WEBHOOK_SECRET: 'stripe.connectWebhookSecret',
  STRIPE_API_URL: 'stripe.apiUrl'
}

// The app's settings are what its schema says: `app.get('mail')` is typed from it, declared nowhere else.
declare module '@marketmesh/shared' {
  interface ServiceConfiguration extends Static<typeof settingsSchema> {}
}
