/**
 * What order-service needs of a payment provider (version 2). Every call that changes something
 * carries an idempotency key derived from our step (`<checkoutId>:capture`, `<payoutId>:transfer`):
 * a call repeated after a crash or a timeout answers what the first one did, and never charges,
 * refunds or transfers twice. A provider that cannot answer throws PaymentUnavailableError.
 *
 * One payment per checkout ("separate charges and transfers"): the buyer's total is authorized
 * once (manual capture), what the sellers could reserve is captured (partially when some orders
 * were rejected), each seller is paid by a transfer from that payment.
 */
export interface PaymentProvider {
  /** Holds `amount` on the buyer's payment method; `token` is the payment method (test: tok_ok, …). */
  authorize(request: {
    idempotencyKey: string
    token?: string
    amount: number
    currency: string
    /** The checkout id: groups the payment and its sellers' transfers at the provider. */
    transferGroup: string
  }): Promise<Authorization>
  /** Captures `amount` (≤ what was authorized; less is a partial capture, the rest released). */
  capture(request: { idempotencyKey: string; paymentId: string; amount: number; currency: string }): Promise<{ captureId: string }>
  /** Releases the hold of a payment that will not be captured. */
  void(request: { idempotencyKey: string; paymentId: string }): Promise<{ voidId: string }>
  refund(request: { idempotencyKey: string; paymentId: string; amount: number; currency: string }): Promise<{ refundId: string }>
  /** What became of a payment when the answers to its calls were lost: read-only. */
  lookup(request: { paymentId?: string; idempotencyKey: string }): Promise<PaymentState>
  /** Pays a seller's connected account from a captured payment (`source_transaction`). */
  transfer(request: {
    idempotencyKey: string
    accountId: string
    amount: number
    currency: string
    transferGroup: string
    sourcePaymentId: string
  }): Promise<{ transferId: string }>
  /** Takes back `amount` of a transfer (a refund after payout). */
  reverseTransfer(request: { idempotencyKey: string; transferId: string; amount: number }): Promise<{ reversalId: string }>
  /** Creates the seller's connected account (Stripe: Express). */
  createAccount(request: { idempotencyKey: string; sellerId: string; email: string; country?: string }): Promise<PayoutAccountState>
  /** A one-time onboarding link for the account (Stripe: Account Links). */
  onboardingLink(request: { accountId: string; returnUrl: string; refreshUrl: string }): Promise<{ url: string; expiresAt: Date }>
  /** Checks the webhook's signature and parses it; throws WebhookSignatureError when it does not verify. */
  parseWebhook(request: { rawBody: Buffer; headers: Record<string, string | string[] | undefined> }): ProviderEvent
}

export type Authorization =
  | { status: 'authorized'; paymentId: string }
  /** The buyer must confirm (3-D Secure) with the provider's SDK using `clientSecret`; a webhook tells the outcome. */
  | { status: 'requires_action'; paymentId: string; clientSecret: string }
  | { status: 'declined'; paymentId?: string; reason: string }

/** A payment as its provider knows it; `none`: nothing was authorized. */
export type PaymentState =
  | { status: 'none' }
  | { status: 'requires_action'; paymentId: string }
  | { status: 'authorized'; paymentId: string; amount: number }
  | { status: 'captured'; paymentId: string; captureId: string; amount: number }
  | { status: 'voided'; paymentId: string }
  | { status: 'failed'; paymentId: string; reason: string }

export interface PayoutAccountState {
  accountId: string
  status: 'pending' | 'enabled' | 'restricted'
  /** What the provider still needs from the seller (Stripe: requirements.currently_due). */
  requirements: string[]
}

/**
 * What a payment event says of its payment: the provider's id, and the checkout it was made for
 * (`transferGroup` of the authorization, kept by the provider): a webhook that arrives before the
 * authorization's answer, when the provider's id is not stored yet, finds the payment by it.
 */
interface PaymentReference {
  paymentId: string
  checkoutId?: string
}

/** A provider's webhook event, reduced to what order-service acts on. `id` dedupes; `created` (epoch s) orders. */
export type ProviderEvent = { id: string; created: number } & (
  | ({ type: 'payment.authorized'; amount: number } & PaymentReference)
  | ({ type: 'payment.captured'; amount: number; captureId?: string } & PaymentReference)
  | ({ type: 'payment.failed'; reason: string } & PaymentReference)
  | ({ type: 'payment.canceled' } & PaymentReference)
  | { type: 'account.updated'; account: PayoutAccountState }
  | { type: 'transfer.reversed'; transferId: string; amount: number }
  | { type: 'transfer.failed'; transferId: string; reason: string }
  | { type: 'ignored'; providerType: string }
)

/** The provider could not answer (timeout, 5xx, maintenance): try again later; not a decline. */
export class PaymentUnavailableError extends Error {
  override name = 'PaymentUnavailableError'
}

/** A webhook whose signature is missing, wrong or outside the tolerance (5 minutes): answered 400. */
export class WebhookSignatureError extends Error {
  override name = 'WebhookSignatureError'
}
