import { SettingsError } from '@marketmesh/shared'
import Stripe from 'stripe'
import {
  PaymentUnavailableError,
  WebhookSignatureError,
  type Authorization,
  type PaymentProvider,
  type PaymentState,
  type PayoutAccountState,
  type ProviderEvent
} from './provider'

/** The Stripe API version the adapter is written and tested for; Stripe answers every call in it. */
export const STRIPE_API_VERSION = '2026-11-18.endive' as const

/** How old a webhook's signature may be (Stripe-Signature `t=`), in seconds. */
const WEBHOOK_TOLERANCE_S = 300

export interface StripeSettings {
  secretKey?: string
  webhookSecret?: string
  connectWebhookSecret?: string
  /** Where the API is; only tests point it elsewhere (a local Stripe-compatible server). */
  apiUrl?: string
}

interface StripeProviderOptions {
  secretKey: string
  /** The signing secrets of the webhook endpoints: the platform's, and the one for connected accounts' events when apart. */
  webhookSecrets: string[]
  apiUrl?: string
  /** Retries of a call whose answer was lost or a 5xx; safe, each mutating call carries its idempotency key. */
  maxNetworkRetries?: number
}

/**
 * The payment provider on Stripe Connect, "separate charges and transfers": a PaymentIntent with
 * manual capture per checkout (its `transfer_group` the checkout id), Refunds of it, Transfers to
 * the sellers' Express accounts from its charge (`source_transaction`), and signed webhooks.
 */
export class StripePaymentProvider implements PaymentProvider {
  private readonly stripe: Stripe

  constructor(private readonly options: StripeProviderOptions) {
    const api = options.apiUrl ? new URL(options.apiUrl) : undefined
    this.stripe = new Stripe(options.secretKey, {
      apiVersion: STRIPE_API_VERSION,
      maxNetworkRetries: options.maxNetworkRetries ?? 2,
      timeout: 20_000,
      telemetry: false,
      ...(api && { host: api.hostname, port: api.port || undefined, protocol: api.protocol === 'http:' ? 'http' : 'https' })
    })
  }

  /** The provider from `stripe.*` settings, or none when no secret key is set; a key without a webhook secret is refused. */
  static fromSettings(settings: StripeSettings | undefined): StripePaymentProvider | undefined {
    if (!settings?.secretKey) return undefined
    if (!settings.webhookSecret) {
      throw new SettingsError('setting "stripe.webhookSecret" (env STRIPE_WEBHOOK_SECRET) is required when STRIPE_SECRET_KEY is set')
    }
    return new StripePaymentProvider({
      secretKey: settings.secretKey,
      webhookSecrets: [settings.webhookSecret, settings.connectWebhookSecret].filter((secret) => secret !== undefined),
      apiUrl: settings.apiUrl
    })
  }

  async authorize({ idempotencyKey, token, amount, currency, transferGroup }: Parameters<PaymentProvider['authorize']>[0]): Promise<Authorization> {
    try {
      const intent = await this.call(() =>
        this.stripe.paymentIntents.create(
          {
            amount,
            currency: currency.toLowerCase(),
            capture_method: 'manual',
            transfer_group: transferGroup,
            // Cards and wallets confirm in the app (3-D Secure included); none sends the buyer away to a bank's page.
            automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
            metadata: { checkout_id: transferGroup, idempotency_key: idempotencyKey },
            ...(token && { payment_method: token, confirm: true })
          },
          { idempotencyKey }
        )
      )
      return authorizationOf(intent)
    } catch (error) {
      if (error instanceof Stripe.errors.StripeCardError) {
        return { status: 'declined', paymentId: error.payment_intent?.id, reason: error.decline_code ?? error.code ?? 'card_declined' }
      }
      throw error
    }
  }

  async capture({ idempotencyKey, paymentId, amount }: Parameters<PaymentProvider['capture']>[0]) {
    const intent = await this.call(() => this.stripe.paymentIntents.capture(paymentId, { amount_to_capture: amount }, { idempotencyKey }))
    return { captureId: chargeIdOf(intent) }
  }

  async void({ idempotencyKey, paymentId }: Parameters<PaymentProvider['void']>[0]) {
    const intent = await this.call(() => this.stripe.paymentIntents.cancel(paymentId, {}, { idempotencyKey }))
    return { voidId: intent.id }
  }

  async refund({ idempotencyKey, paymentId, amount }: Parameters<PaymentProvider['refund']>[0]) {
    const refund = await this.call(() => this.stripe.refunds.create({ payment_intent: paymentId, amount }, { idempotencyKey }))
    return { refundId: refund.id }
  }

  /**
   * By id when it is known; else the PaymentIntent whose authorization carried the key (kept in its
   * metadata): Stripe's search, which may miss an intent made in the last minute (then: `none`, and
   * the caller's next round asks again).
   */
  async lookup({ paymentId, idempotencyKey }: Parameters<PaymentProvider['lookup']>[0]): Promise<PaymentState> {
    if (paymentId) return paymentStateOf(await this.call(() => this.stripe.paymentIntents.retrieve(paymentId)))
    const quoted = idempotencyKey.replaceAll('\\', '\\\\').replaceAll("'", "\\'")
    const found = await this.call(() => this.stripe.paymentIntents.search({ query: `metadata['idempotency_key']:'${quoted}'`, limit: 1 }))
    return found.data[0] ? paymentStateOf(found.data[0]) : { status: 'none' }
  }

  async transfer({ idempotencyKey, accountId, amount, currency, transferGroup, sourcePaymentId }: Parameters<PaymentProvider['transfer']>[0]) {
    const payment = await this.call(() => this.stripe.paymentIntents.retrieve(sourcePaymentId))
    const transfer = await this.call(() =>
      this.stripe.transfers.create(
        {
          amount,
          currency: currency.toLowerCase(),
          destination: accountId,
          transfer_group: transferGroup,
          // Paid from this payment's funds once they settle, not from the platform's available balance.
          source_transaction: chargeIdOf(payment)
        },
        { idempotencyKey }
      )
    )
    return { transferId: transfer.id }
  }

  async reverseTransfer({ idempotencyKey, transferId, amount }: Parameters<PaymentProvider['reverseTransfer']>[0]) {
    const reversal = await this.call(() => this.stripe.transfers.createReversal(transferId, { amount }, { idempotencyKey }))
    return { reversalId: reversal.id }
  }

  async createAccount({ idempotencyKey, sellerId, email, country }: Parameters<PaymentProvider['createAccount']>[0]) {
    const account = await this.call(() =>
      this.stripe.accounts.create(
        {
          type: 'express',
          email,
          ...(country && { country }),
          capabilities: { transfers: { requested: true } },
          metadata: { seller_id: sellerId }
        },
        { idempotencyKey }
      )
    )
    return payoutAccountStateOf(account)
  }

  /** A new link each time: a link is used once and expires within minutes, so there is nothing to replay. */
  async onboardingLink({ accountId, returnUrl, refreshUrl }: Parameters<PaymentProvider['onboardingLink']>[0]) {
    const link = await this.call(() =>
      this.stripe.accountLinks.create({ account: accountId, return_url: returnUrl, refresh_url: refreshUrl, type: 'account_onboarding' })
    )
    return { url: link.url, expiresAt: new Date(link.expires_at * 1000) }
  }

  parseWebhook({ rawBody, headers }: Parameters<PaymentProvider['parseWebhook']>[0]): ProviderEvent {
    const signature = headers['stripe-signature']
    if (typeof signature !== 'string' || signature === '') throw new WebhookSignatureError('Stripe-Signature header is missing')
    const problems: string[] = []
    for (const secret of this.options.webhookSecrets) {
      try {
        const event = this.stripe.webhooks.constructEvent(rawBody, signature, secret, WEBHOOK_TOLERANCE_S)
        return { id: event.id, created: event.created, ...eventOf(event) }
      } catch (error) {
        problems.push((error as Error).message)
      }
    }
    throw new WebhookSignatureError(`Stripe-Signature does not verify: ${problems.join('; ')}`)
  }

  /** Runs a call to Stripe; what says "try again later" (no answer, 5xx, rate limit) becomes PaymentUnavailableError. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request()
    } catch (error) {
      if (isUnavailable(error)) throw new PaymentUnavailableError(`Stripe unavailable: ${(error as Error).message}`, { cause: error })
      throw error
    }
  }
}

const isUnavailable = (error: unknown) =>
  error instanceof Stripe.errors.StripeConnectionError ||
  error instanceof Stripe.errors.StripeAPIError ||
  error instanceof Stripe.errors.StripeRateLimitError ||
  (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500)

/** The charge a PaymentIntent made: what was captured, refunds and transfers come from. */
const chargeIdOf = (intent: Stripe.PaymentIntent) => {
  const charge = intent.latest_charge
  if (!charge) throw new Error(`Stripe payment ${intent.id} has no charge (status ${intent.status})`)
  return typeof charge === 'string' ? charge : charge.id
}

const failureOf = (intent: Stripe.PaymentIntent) => intent.last_payment_error?.decline_code ?? intent.last_payment_error?.code ?? 'payment_failed'

const authorizationOf = (intent: Stripe.PaymentIntent): Authorization => {
  switch (intent.status) {
    case 'requires_capture':
    case 'succeeded':
      return { status: 'authorized', paymentId: intent.id }
    case 'canceled':
      return { status: 'declined', paymentId: intent.id, reason: intent.cancellation_reason ?? 'canceled' }
    default:
      if (intent.status === 'requires_payment_method' && intent.last_payment_error) {
        return { status: 'declined', paymentId: intent.id, reason: failureOf(intent) }
      }
      // Waits for the buyer: to confirm in the app (no payment method yet) or to pass 3-D Secure.
      return { status: 'requires_action', paymentId: intent.id, clientSecret: intent.client_secret ?? '' }
  }
}

const paymentStateOf = (intent: Stripe.PaymentIntent): PaymentState => {
  const paymentId = intent.id
  switch (intent.status) {
    case 'requires_capture':
      return { status: 'authorized', paymentId, amount: intent.amount_capturable }
    case 'succeeded':
      return { status: 'captured', paymentId, captureId: chargeIdOf(intent), amount: intent.amount_received }
    case 'canceled':
      return { status: 'voided', paymentId }
    default:
      if (intent.status === 'requires_payment_method' && intent.last_payment_error) return { status: 'failed', paymentId, reason: failureOf(intent) }
      return { status: 'requires_action', paymentId }
  }
}

/** Enabled once Stripe lets us transfer to it and pay it out; restricted when Stripe disabled it after onboarding. */
export const payoutAccountStateOf = (account: Stripe.Account): PayoutAccountState => ({
  accountId: account.id,
  status:
    account.capabilities?.transfers === 'active' && account.payouts_enabled
      ? 'enabled'
      : account.details_submitted && account.requirements?.disabled_reason
        ? 'restricted'
        : 'pending',
  requirements: account.requirements?.currently_due ?? []
})

type EventBody = ProviderEvent extends infer E ? (E extends ProviderEvent ? Omit<E, 'id' | 'created'> : never) : never

/** The intent's id and the checkout it was made for (its metadata, set by `authorize`). */
const referenceOf = (intent: Stripe.PaymentIntent) => ({
  paymentId: intent.id,
  ...(intent.metadata?.checkout_id && { checkoutId: intent.metadata.checkout_id })
})

const eventOf = (event: Stripe.Event): EventBody => {
  switch (event.type) {
    case 'payment_intent.amount_capturable_updated':
      return { type: 'payment.authorized', ...referenceOf(event.data.object), amount: event.data.object.amount_capturable }
    case 'payment_intent.succeeded':
      return {
        type: 'payment.captured',
        ...referenceOf(event.data.object),
        amount: event.data.object.amount_received,
        ...(event.data.object.latest_charge && { captureId: chargeIdOf(event.data.object) })
      }
    case 'payment_intent.payment_failed':
      return { type: 'payment.failed', ...referenceOf(event.data.object), reason: failureOf(event.data.object) }
    case 'payment_intent.canceled':
      return { type: 'payment.canceled', ...referenceOf(event.data.object) }
    case 'account.updated':
      return { type: 'account.updated', account: payoutAccountStateOf(event.data.object) }
    case 'transfer.reversed':
      return { type: 'transfer.reversed', transferId: event.data.object.id, amount: event.data.object.amount_reversed }
    default:
      return { type: 'ignored', providerType: event.type }
  }
}
