import type { ServiceApplication } from '@marketmesh/shared'
import type { PaymentProvider } from './provider'
import { TestPaymentProvider } from './test-provider'

export * from './provider'

/** The providers a checkout may name in `payment.provider`; a real one (e.g. Stripe) is one more entry. */
export const paymentProviders = (app: ServiceApplication): Record<string, PaymentProvider> => ({
  test: new TestPaymentProvider(app.get('postgresqlClient'))
})
