import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { feathers } from '@feathersjs/feathers'
import { settingsFromEnvironment, SettingsError, type ServiceApplication, type ServiceConfiguration } from '@marketmesh/shared'
import { startStripeServer, STRIPE_TEST_PAYMENT_METHODS as pm, type StripeServer } from '@marketmesh/test-support/stripe'
import { environment, settingsSchema } from '../src/configuration'
import { paymentProviders } from '../src/payments'
import { PaymentUnavailableError, WebhookSignatureError, type ProviderEvent } from '../src/payments/provider'
import { StripePaymentProvider } from '../src/payments/stripe-provider'

// Stripe cannot be reached from here: the adapter talks to a local Stripe-compatible server that
// checks each request and answer against Stripe's OpenAPI description of the operations used.
let stripe: StripeServer
let provider: StripePaymentProvider
const secretKey = 'sk_test_marketmesh'
/** Connected accounts' events come from a second endpoint, signed with its own secret. */
const connectWebhookSecret = 'whsec_connect_endpoint'

beforeAll(async () => {
  stripe = await startStripeServer()
  // No retries: each test decides what is lost and what is asked again.
  provider = new StripePaymentProvider({
    secretKey,
    webhookSecrets: [stripe.webhookSecret, connectWebhookSecret],
    apiUrl: stripe.url,
    maxNetworkRetries: 0
  })
})
afterAll(() => stripe?.close())

const key = (step: string) => `${randomUUID()}:${step}`
const checkoutId = () => randomUUID()
/** An authorization of its own checkout, with its own key. */
const authorizeWith = (token: string | undefined, amount: number) =>
  provider.authorize({ idempotencyKey: key('authorize'), token, amount, currency: 'EUR', transferGroup: checkoutId() })
const authorized = async (amount = 5_000) => {
  const transferGroup = checkoutId()
  const authorization = await provider.authorize({ idempotencyKey: key('authorize'), token: pm.pays, amount, currency: 'EUR', transferGroup })
  if (authorization.status !== 'authorized') throw new Error(`not authorized: ${authorization.status}`)
  return { paymentId: authorization.paymentId, transferGroup }
}
const enabledAccount = async () => {
  const account = await provider.createAccount({ idempotencyKey: key('account'), sellerId: randomUUID(), email: 'shop@example.com', country: 'DE' })
  stripe.completeOnboarding(account.accountId)
  return account.accountId
}

describe('authorize', () => {
  it('holds the amount with manual capture, grouped by the checkout', async () => {
    const transferGroup = checkoutId()
    const idempotencyKey = key('authorize')
    const authorization = await provider.authorize({ idempotencyKey, token: pm.pays, amount: 4_200, currency: 'EUR', transferGroup })
    expect(authorization.status).toBe('authorized')
    const intent = stripe.intents.get((authorization as { paymentId: string }).paymentId)
    expect(intent).toMatchObject({
      status: 'requires_capture',
      amount: 4_200,
      amount_capturable: 4_200,
      currency: 'eur',
      capture_method: 'manual',
      transfer_group: transferGroup
    })
    expect(intent?.metadata).toEqual({ checkout_id: transferGroup, idempotency_key: idempotencyKey })
  })

  it('without a payment method, or when 3-D Secure is needed, waits for the buyer with the client secret', async () => {
    for (const token of [undefined, pm.authenticationRequired]) {
      const authorization = await authorizeWith(token, 1_000)
      expect(authorization).toMatchObject({ status: 'requires_action', clientSecret: expect.stringMatching(/^pi_\w+_secret_\w+$/) })
      const { paymentId } = authorization as { paymentId: string }
      expect(await provider.lookup({ paymentId, idempotencyKey: 'unused' })).toEqual({ status: 'requires_action', paymentId })
    }
  })

  it('a payment the buyer confirms in the app is authorized, and the webhook says so', async () => {
    const authorization = await authorizeWith(pm.authenticationRequired, 1_500)
    const { paymentId } = authorization as { paymentId: string }
    stripe.confirmByBuyer(paymentId)
    expect(provider.parseWebhook(stripe.signed(stripe.eventOf('payment_intent.amount_capturable_updated', paymentId)!))).toMatchObject({
      type: 'payment.authorized',
      paymentId,
      amount: 1_500
    })
    expect(await provider.lookup({ paymentId, idempotencyKey: 'unused' })).toEqual({ status: 'authorized', paymentId, amount: 1_500 })
  })

  it('a declined card is a decline naming the reason, not an error', async () => {
    const authorization = await authorizeWith(pm.declined, 1_000)
    expect(authorization).toMatchObject({ status: 'declined', reason: 'generic_decline', paymentId: expect.stringMatching(/^pi_/) })
    const { paymentId } = authorization as { paymentId: string }
    expect(await provider.lookup({ paymentId, idempotencyKey: 'unused' })).toEqual({ status: 'failed', paymentId, reason: 'generic_decline' })
  })

  it('the same key answers the first payment again: one intent, one charge', async () => {
    const request = { idempotencyKey: key('authorize'), token: pm.pays, amount: 2_500, currency: 'EUR', transferGroup: checkoutId() }
    const intentsBefore = stripe.intents.size
    const first = await provider.authorize(request)
    const again = await provider.authorize(request)
    expect(again).toEqual(first)
    expect(stripe.intents.size).toBe(intentsBefore + 1)
    expect(stripe.requests.filter(({ idempotencyKey }) => idempotencyKey === request.idempotencyKey).map(({ replayed }) => replayed)).toEqual([
      false,
      true
    ])
  })
})

describe('capture, void, refund', () => {
  it('captures part of the hold; the charge is the capture', async () => {
    const { paymentId } = await authorized(5_000)
    const { captureId } = await provider.capture({ idempotencyKey: key('capture'), paymentId, amount: 3_000, currency: 'EUR' })
    expect(captureId).toMatch(/^ch_/)
    expect(await provider.lookup({ paymentId, idempotencyKey: 'unused' })).toEqual({ status: 'captured', paymentId, captureId, amount: 3_000 })
  })

  it('voids a hold that will not be captured', async () => {
    const { paymentId } = await authorized()
    const { voidId } = await provider.void({ idempotencyKey: key('void'), paymentId })
    expect(voidId).toBe(paymentId)
    expect(await provider.lookup({ paymentId, idempotencyKey: 'unused' })).toEqual({ status: 'voided', paymentId })
  })

  it('refunds part of a captured payment, and no more than was captured', async () => {
    const { paymentId } = await authorized(5_000)
    await provider.capture({ idempotencyKey: key('capture'), paymentId, amount: 5_000, currency: 'EUR' })
    const { refundId } = await provider.refund({ idempotencyKey: key('refund'), paymentId, amount: 1_200, currency: 'EUR' })
    expect(stripe.refunds.get(refundId)).toMatchObject({ amount: 1_200, payment_intent: paymentId, status: 'succeeded' })
    await expect(provider.refund({ idempotencyKey: key('refund'), paymentId, amount: 4_000, currency: 'EUR' })).rejects.toThrow(
      /greater than unrefunded/
    )
  })
})

describe('lost answers and outages', () => {
  // Two: the client tries a call again once, with its key, when the connection closes without an answer.
  it('a capture whose answer was lost is found captured by lookup, and the repeated capture is the same one', async () => {
    const { paymentId } = await authorized(2_000)
    const capture = { idempotencyKey: key('capture'), paymentId, amount: 2_000, currency: 'EUR' }
    stripe.faults.lostAnswers = 2
    await expect(provider.capture(capture)).rejects.toBeInstanceOf(PaymentUnavailableError)
    const state = await provider.lookup({ paymentId, idempotencyKey: 'unused' })
    expect(state).toMatchObject({ status: 'captured', amount: 2_000 })
    expect(await provider.capture(capture)).toEqual({ captureId: (state as { captureId: string }).captureId })
    expect(stripe.requests.filter(({ idempotencyKey }) => idempotencyKey === capture.idempotencyKey).map(({ replayed }) => replayed)).toEqual([
      false,
      true,
      true
    ])
  })

  it('an authorization whose answer was lost is found by its idempotency key', async () => {
    const idempotencyKey = key('authorize')
    stripe.faults.lostAnswers = 2
    await expect(
      provider.authorize({ idempotencyKey, token: pm.pays, amount: 900, currency: 'EUR', transferGroup: checkoutId() })
    ).rejects.toBeInstanceOf(PaymentUnavailableError)
    expect(await provider.lookup({ idempotencyKey })).toMatchObject({ status: 'authorized', amount: 900, paymentId: expect.stringMatching(/^pi_/) })
    expect(await provider.lookup({ idempotencyKey: key('authorize') })).toEqual({ status: 'none' })
  })

  it('a 5xx from Stripe is unavailable (try later), not a decline', async () => {
    stripe.faults.unavailable = 1
    await expect(authorizeWith(pm.pays, 900)).rejects.toBeInstanceOf(PaymentUnavailableError)
  })
})

describe('sellers: accounts, onboarding, transfers', () => {
  it('creates an Express account that is pending until onboarded, with its onboarding link', async () => {
    const sellerId = randomUUID()
    const account = await provider.createAccount({ idempotencyKey: key('account'), sellerId, email: 'shop@example.com', country: 'DE' })
    expect(account).toMatchObject({
      accountId: expect.stringMatching(/^acct_/),
      status: 'pending',
      requirements: expect.arrayContaining(['external_account'])
    })
    expect(stripe.accounts.get(account.accountId)).toMatchObject({
      type: 'express',
      capabilities: { transfers: 'inactive' },
      metadata: { seller_id: sellerId }
    })
    const link = await provider.onboardingLink({
      accountId: account.accountId,
      returnUrl: 'https://marketmesh.dev/payouts/done',
      refreshUrl: 'https://marketmesh.dev/payouts/again'
    })
    expect(link.url).toContain(account.accountId)
    expect(link.expiresAt.getTime()).toBeGreaterThan(Date.now())
  })

  it('transfers a seller their share from the payment, and reverses part of it', async () => {
    const { paymentId, transferGroup } = await authorized(10_000)
    const { captureId } = await provider.capture({ idempotencyKey: key('capture'), paymentId, amount: 10_000, currency: 'EUR' })
    const accountId = await enabledAccount()
    const transfer = { idempotencyKey: key('transfer'), accountId, amount: 9_000, currency: 'EUR', transferGroup, sourcePaymentId: paymentId }
    const { transferId } = await provider.transfer(transfer)
    expect(stripe.transfers.get(transferId)).toMatchObject({
      destination: accountId,
      amount: 9_000,
      transfer_group: transferGroup,
      source_transaction: captureId
    })
    expect(await provider.transfer(transfer)).toEqual({ transferId })
    expect([...stripe.transfers.values()].filter(({ transfer_group }) => transfer_group === transferGroup)).toHaveLength(1)

    const { reversalId } = await provider.reverseTransfer({ idempotencyKey: key('reversal'), transferId, amount: 2_000 })
    expect(reversalId).toMatch(/^trr_/)
    expect(stripe.transfers.get(transferId)).toMatchObject({ amount_reversed: 2_000, reversed: false })
  })
})

describe('webhooks', () => {
  const parse = (signed: { rawBody: Buffer; headers: Record<string, string> }) => provider.parseWebhook(signed)

  it('maps the payment events the flow acts on, each naming the checkout its payment was made for', async () => {
    const { paymentId } = await authorized(3_000)
    const checkoutId = (stripe.intents.get(paymentId)!.metadata as Record<string, string>).checkout_id
    expect(parse(stripe.signed(stripe.eventOf('payment_intent.amount_capturable_updated', paymentId)!))).toMatchObject({
      type: 'payment.authorized',
      paymentId,
      checkoutId,
      amount: 3_000
    })
    const { captureId } = await provider.capture({ idempotencyKey: key('capture'), paymentId, amount: 2_000, currency: 'EUR' })
    const captured = stripe.eventOf('payment_intent.succeeded', paymentId)!
    expect(parse(stripe.signed(captured))).toEqual({
      id: captured.id,
      created: captured.created,
      type: 'payment.captured',
      paymentId,
      checkoutId,
      amount: 2_000,
      captureId
    })

    const declined = await authorizeWith(pm.declined, 1_000)
    const failedId = (declined as { paymentId: string }).paymentId
    expect(parse(stripe.signed(stripe.eventOf('payment_intent.payment_failed', failedId)!))).toMatchObject({
      type: 'payment.failed',
      paymentId: failedId,
      reason: 'generic_decline'
    })

    const voided = await authorized()
    await provider.void({ idempotencyKey: key('void'), paymentId: voided.paymentId })
    expect(parse(stripe.signed(stripe.eventOf('payment_intent.canceled', voided.paymentId)!))).toMatchObject({
      type: 'payment.canceled',
      paymentId: voided.paymentId
    })
  })

  it('maps account.updated to the account state, transfer.reversed to the amount taken back, anything else to ignored', async () => {
    const account = await provider.createAccount({ idempotencyKey: key('account'), sellerId: randomUUID(), email: 'shop@example.com' })
    const updated = stripe.completeOnboarding(account.accountId)
    expect(parse(stripe.signed(updated, { secret: connectWebhookSecret }))).toMatchObject({
      type: 'account.updated',
      account: { accountId: account.accountId, status: 'enabled', requirements: [] }
    })

    const { paymentId, transferGroup } = await authorized(4_000)
    await provider.capture({ idempotencyKey: key('capture'), paymentId, amount: 4_000, currency: 'EUR' })
    const { transferId } = await provider.transfer({
      idempotencyKey: key('transfer'),
      accountId: account.accountId,
      amount: 3_000,
      currency: 'EUR',
      transferGroup,
      sourcePaymentId: paymentId
    })
    await provider.reverseTransfer({ idempotencyKey: key('reversal'), transferId, amount: 3_000 })
    expect(parse(stripe.signed(stripe.eventOf('transfer.reversed', transferId)!))).toMatchObject({
      type: 'transfer.reversed',
      transferId,
      amount: 3_000
    })
    expect(parse(stripe.signed(stripe.eventOf('transfer.created', transferId)!))).toMatchObject({ type: 'ignored', providerType: 'transfer.created' })
  })

  it('refuses a wrong, stale (over 5 minutes) or missing signature', async () => {
    const { paymentId } = await authorized()
    const event = stripe.eventOf('payment_intent.amount_capturable_updated', paymentId)!
    const wrong = stripe.signed(event, { secret: 'whsec_not_ours' })
    const stale = stripe.signed(event, { timestamp: Math.floor(Date.now() / 1000) - 301 })
    const { rawBody } = stripe.signed(event)
    expect(() => parse(wrong)).toThrow(WebhookSignatureError)
    expect(() => parse(stale)).toThrow(WebhookSignatureError)
    expect(() => provider.parseWebhook({ rawBody, headers: {} })).toThrow(WebhookSignatureError)
    const tampered = stripe.signed(event)
    expect(() => provider.parseWebhook({ ...tampered, rawBody: Buffer.from(tampered.rawBody.toString().replace(paymentId, 'pi_other')) })).toThrow(
      WebhookSignatureError
    )
  })

  it('verifies an event Stripe posts to an endpoint over HTTP', async () => {
    const received: Array<ProviderEvent | string> = []
    const endpoint: Server = createServer((request, response) => {
      const chunks: Buffer[] = []
      request.on('data', (chunk: Buffer) => chunks.push(chunk))
      request.on('end', () => {
        try {
          received.push(provider.parseWebhook({ rawBody: Buffer.concat(chunks), headers: request.headers }))
          response.writeHead(200).end()
        } catch (error) {
          received.push((error as Error).name)
          response.writeHead(400).end()
        }
      })
    })
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/payment-webhooks/stripe`
    try {
      const { paymentId } = await authorized(700)
      const event = stripe.eventOf('payment_intent.amount_capturable_updated', paymentId)!
      expect(await stripe.deliver(url, event)).toBe(200)
      expect(await stripe.deliver(url, event, { secret: 'whsec_not_ours' })).toBe(400)
      expect(received).toEqual([expect.objectContaining({ type: 'payment.authorized', paymentId, amount: 700 }), 'WebhookSignatureError'])
    } finally {
      await new Promise((resolve) => endpoint.close(resolve))
    }
  })
})

describe('settings', () => {
  it('are read from STRIPE_* variables, and the provider is registered as `stripe` only with a secret key', () => {
    const env = {
      STRIPE_SECRET_KEY: secretKey,
      STRIPE_WEBHOOK_SECRET: 'whsec_a',
      STRIPE_CONNECT_WEBHOOK_SECRET: 'whsec_b',
      STRIPE_API_URL: stripe.url
    }
    const settings = settingsFromEnvironment(settingsSchema, environment, env)
    expect(settings).toEqual({ stripe: { secretKey, webhookSecret: 'whsec_a', connectWebhookSecret: 'whsec_b', apiUrl: stripe.url } })
    // Without the test provider (as in production): none configured is a refused start, naming the setting.
    expect(() => paymentProviders(feathers() as unknown as ServiceApplication)).toThrow(/PAYMENT_TEST_PROVIDER/)
    const app = feathers() as unknown as ServiceApplication
    app.set('stripe', settings.stripe as ServiceConfiguration['stripe'])
    expect(Object.keys(paymentProviders(app))).toEqual(['stripe'])
  })

  it('registers nothing without a secret key, and refuses a secret key without a webhook secret', () => {
    expect(StripePaymentProvider.fromSettings(undefined)).toBeUndefined()
    expect(StripePaymentProvider.fromSettings({ webhookSecret: 'whsec_x' })).toBeUndefined()
    expect(() => StripePaymentProvider.fromSettings({ secretKey })).toThrow(SettingsError)
    expect(() => StripePaymentProvider.fromSettings({ secretKey })).toThrow(/STRIPE_WEBHOOK_SECRET/)
  })
})

describe("the server's OpenAPI check", () => {
  it('catches a request that breaks the spec, answers 400 as Stripe does, and records it', async () => {
    const checker = await startStripeServer()
    try {
      const bad = await fetch(`${checker.url}/v1/payment_intents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'amount=ten&currency=eur&capture_method=later&colour=red'
      })
      expect(bad.status).toBe(400)
      expect(((await bad.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error')
      expect(checker.violations).toHaveLength(1)
      expect(checker.violations[0]).toMatchObject({ operation: 'POST /v1/payment_intents', part: 'request' })
      const errors = checker.violations[0].errors.join('\n')
      expect(errors).toMatch(/amount/)
      expect(errors).toMatch(/capture_method/)
      expect(errors).toMatch(/additional properties/)
      expect(checker.intents.size).toBe(0)

      const missingQuery = await fetch(`${checker.url}/v1/payment_intents/search?limit=1`, { headers: { authorization: `Bearer ${secretKey}` } })
      expect(missingQuery.status).toBe(400)
      expect(checker.violations[1].errors).toContain('missing required parameter: query')

      // An answer outside the description is caught too (here, a status Stripe does not have).
      const created = await fetch(`${checker.url}/v1/payment_intents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'amount=1000&currency=eur&metadata[checkout_id]=c1'
      })
      const { id } = (await created.json()) as { id: string }
      expect(checker.violations).toHaveLength(2)
      Object.assign(checker.intents.get(id)!, { status: 'half_paid' })
      await fetch(`${checker.url}/v1/payment_intents/${id}`, { headers: { authorization: `Bearer ${secretKey}` } })
      expect(checker.violations[2]).toMatchObject({
        operation: `GET /v1/payment_intents/${id}`,
        part: 'response',
        errors: ['/status must be equal to one of the allowed values']
      })
    } finally {
      await checker.close()
    }
  })

  // Last: every call the tests above made, and every answer and event, kept to Stripe's description.
  it('saw no request, answer or event outside Stripe’s OpenAPI description', () => {
    expect(stripe.requests.length).toBeGreaterThan(30)
    expect(stripe.violations).toEqual([])
  })
})
