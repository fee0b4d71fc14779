import type { ServiceApplication } from '@marketmesh/shared'
import { PaymentUnavailableError, type PaymentProvider } from './provider'
import { StripePaymentProvider } from './stripe-provider'
import { TestPaymentProvider } from './test-provider'

export * from './provider'

/** A secret shorter than this is refused: a guessable one lets anyone forge the test provider's webhooks. */
const MIN_WEBHOOK_SECRET_LENGTH = 16

/** Counts every call by its outcome (`payment_provider_calls_total`); parsing a webhook is no call. */
const counted = (app: ServiceApplication, name: string, provider: PaymentProvider): PaymentProvider => {
  const count = async <R>(operation: string, call: () => Promise<R>) => {
    const { providerCalls } = app.get('orderMetrics')
    try {
      const result = await call()
      const declined = (result as { status?: string }).status === 'declined'
      providerCalls.inc({ provider: name, operation, result: declined ? 'declined' : 'succeeded' })
      return result
    } catch (error) {
      providerCalls.inc({ provider: name, operation, result: error instanceof PaymentUnavailableError ? 'unavailable' : 'error' })
      throw error
    }
  }
  return {
    authorize: (request) => count('authorize', () => provider.authorize(request)),
    capture: (request) => count('capture', () => provider.capture(request)),
    void: (request) => count('void', () => provider.void(request)),
    refund: (request) => count('refund', () => provider.refund(request)),
    lookup: (request) => count('lookup', () => provider.lookup(request)),
    transfer: (request) => count('transfer', () => provider.transfer(request)),
    reverseTransfer: (request) => count('reverse_transfer', () => provider.reverseTransfer(request)),
    createAccount: (request) => count('create_account', () => provider.createAccount(request)),
    onboardingLink: (request) => count('onboarding_link', () => provider.onboardingLink(request)),
    parseWebhook: (request) => provider.parseWebhook(request)
  }
}

const registries = new WeakMap<ServiceApplication, Record<string, PaymentProvider>>()

/**
 * The providers a checkout may name in `payment.provider` and whose webhooks
 * /payment-webhooks/:provider takes: `stripe` when its secret key is set (docs/stripe.md). The `test`
 * provider moves no money: it is there when `paymentTestProvider` is on (off in production), with
 * a webhook secret of at least 16 characters. Created once per app; throws at start when none is
 * configured, naming the setting.
 */
export const paymentProviders = (app: ServiceApplication): Record<string, PaymentProvider> => {
  const known = registries.get(app)
  if (known) return known
  // No prototype: a route or body naming `toString` or `constructor` finds no provider.
  const providers: Record<string, PaymentProvider> = Object.create(null)
  if (app.get('paymentTestProvider')) {
    const secret = app.get('paymentTestWebhookSecret')
    if (secret.length < MIN_WEBHOOK_SECRET_LENGTH) {
      throw new Error(
        `Invalid setting "paymentTestWebhookSecret" (env PAYMENT_TEST_WEBHOOK_SECRET): must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters while the test provider is on (PAYMENT_TEST_PROVIDER=true)`
      )
    }
    providers.test = counted(app, 'test', new TestPaymentProvider(app.get('postgresqlClient'), secret))
    if (process.env.NODE_ENV === 'production') {
      app.get('logger').warn('the test payment provider is on (PAYMENT_TEST_PROVIDER=true): checkouts paying with it move no money')
    }
  }
  const stripe = StripePaymentProvider.fromSettings(app.get('stripe'))
  if (stripe) providers.stripe = counted(app, 'stripe', stripe)
  if (Object.keys(providers).length === 0) {
    throw new Error(
      'No payment provider is configured: the test provider, which moves no money, is off in production; set PAYMENT_TEST_PROVIDER=true (setting "paymentTestProvider") to run with it anyway'
    )
  }
  registries.set(app, providers)
  return providers
}
