import type { ServiceApplication } from '@marketmesh/shared'
import { PaymentUnavailableError, type PaymentProvider } from './provider'
import { StripePaymentProvider } from './stripe-provider'
import { TestPaymentProvider } from './test-provider'

export * from './provider'

/** Counts every call by its outcome (`payment_provider_calls_total`). */
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
    refund: (request) => count('refund', () => provider.refund(request)),
    lookup: (request) => count('lookup', () => provider.lookup(request)),
    void: (request) => count('void', () => provider.void(request)),
    transfer: (request) => count('transfer', () => provider.transfer(request)),
    reverseTransfer: (request) => count('reverse_transfer', () => provider.reverseTransfer(request)),
    createAccount: (request) => count('create_account', () => provider.createAccount(request)),
    onboardingLink: (request) => count('onboarding_link', () => provider.onboardingLink(request)),
    // Verifying a signature asks the provider nothing: there is no call to count.
    parseWebhook: (request) => provider.parseWebhook(request)
  }
}

/** The providers a checkout may name in `payment.provider`: `stripe` when its secret key is set. */
export const paymentProviders = (app: ServiceApplication): Record<string, PaymentProvider> => {
  const stripe = StripePaymentProvider.fromSettings(app.get('stripe'))
  return {
    test: counted(app, 'test', new TestPaymentProvider(app.get('postgresqlClient'))),
    ...(stripe && { stripe: counted(app, 'stripe', stripe) })
  }
}
