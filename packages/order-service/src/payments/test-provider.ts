import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto'
import type { Knex } from '@marketmesh/shared'
import {
  PaymentUnavailableError,
  WebhookSignatureError,
  type Authorization,
  type PaymentProvider,
  type PaymentState,
  type PayoutAccountState,
  type ProviderEvent
} from './provider'

type Outcome = {
  result: string
  reference: string
  /** Whether the payment `reference` names has been confirmed by its buyer (3-D Secure). */
  confirmed: boolean
  /** The token of the authorization of the call's `paymentId`, when it names one. */
  authorizationToken: string | null
}

interface StoredOutcome {
  result: string
  reference: string
  operation: string
  amount: number
  currency: string
  token: string | null
}

/** The authorization of the payment the call names (`:paymentId`): what a capture may take, and its token. */
const AUTHORIZATION_OF_CALL = `authorized AS (
  SELECT amount, token FROM test_provider_outcomes WHERE reference = CAST(:paymentId AS text) AND operation = 'authorize')`

/** An outcome (`from` gives its result and reference) with what the caller reads of the payment beside it. */
const outcomeOf = (from: string) => `
  SELECT outcome.result, outcome.reference,
         EXISTS (SELECT FROM test_provider_outcomes WHERE "paymentId" = outcome.reference AND operation = 'confirm') AS confirmed,
         (SELECT token FROM authorized) AS "authorizationToken"
    FROM (${from}) AS outcome`

/**
 * One statement, one commit per call: the stored outcome of the key, or the new one (kept unless
 * the call is unavailable, or another call with the key stored one first), and the call itself,
 * `replayed` when an outcome was stored before. A capture of more than its payment's authorization
 * (or of none) is `refused`, and neither stored nor recorded as a call.
 */
const CALL = `
  WITH ${AUTHORIZATION_OF_CALL},
       refused AS (
         SELECT WHERE :operation = 'capture' AND NOT EXISTS (SELECT FROM authorized WHERE amount >= CAST(:amount AS integer))),
       stored AS (
         SELECT result, reference FROM test_provider_outcomes WHERE "idempotencyKey" = :key AND NOT EXISTS (SELECT FROM refused)),
       fresh AS (
         INSERT INTO test_provider_outcomes ("idempotencyKey", operation, result, reference, amount, currency, token, "paymentId")
         SELECT :key, :operation, :result, :reference, CAST(:amount AS integer), :currency, CAST(:token AS text), CAST(:paymentId AS text)
          WHERE :result <> 'unavailable' AND NOT EXISTS (SELECT FROM stored) AND NOT EXISTS (SELECT FROM refused)
             ON CONFLICT ("idempotencyKey") DO NOTHING
         RETURNING result, reference),
       called AS (
         INSERT INTO test_provider_calls (operation, "idempotencyKey", result)
         SELECT :operation, :key, CASE WHEN EXISTS (SELECT FROM stored) THEN 'replayed' ELSE :result END
          WHERE NOT EXISTS (SELECT FROM refused))
  ${outcomeOf(`SELECT result, reference FROM stored UNION ALL SELECT result, reference FROM fresh UNION ALL SELECT 'refused', NULL FROM refused`)}`

/** The outcome another call with the key stored while this one ran. */
const STORED = `
  WITH ${AUTHORIZATION_OF_CALL}
  ${outcomeOf(`SELECT result, reference FROM test_provider_outcomes WHERE "idempotencyKey" = :key`)}`

/** Tokens whose authorization is made at the provider, and which differ from `tok_ok` only later. */
const AUTHORIZED = new Set(['tok_ok', 'tok_authorize_timeout', 'tok_capture_timeout', 'tok_lookup_outage'])
/** Tokens whose capture is made, and every answer to it lost. */
const CAPTURE_TIMES_OUT = new Set(['tok_capture_timeout', 'tok_lookup_outage'])
/** How many lookups of a `tok_lookup_outage` payment are unavailable before one answers. */
const LOOKUP_OUTAGE_CALLS = 4
/** A signed webhook older (or newer) than this is refused, as Stripe's libraries do. */
const WEBHOOK_TOLERANCE_S = 300

const WEBHOOK_TYPES = new Set<string>([
  'payment.authorized',
  'payment.captured',
  'payment.failed',
  'payment.canceled',
  'account.updated',
  'transfer.reversed',
  'transfer.failed'
])

/** The header a `test` provider webhook is signed in, in Stripe's format: `t=<epoch s>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const TEST_SIGNATURE_HEADER = 'stripe-signature'

const signatureOf = (secret: string, timestamp: number, body: Buffer | string) =>
  createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')

/**
 * The built-in `test` provider. Tokens: `tok_ok` pays, `tok_declined` is declined, and
 * `tok_unavailable` is unavailable at the first authorization, then pays (a transient outage).
 * `tok_requires_action` needs the buyer's confirmation: answered `requires_action` with a client
 * secret until `confirm` (the buyer's 3-D Secure, in tests) makes it authorized and signs the
 * `payment.authorized` webhook that tells order-service. Outages that outlast every retry:
 * `tok_outage` (no authorization reaches the provider), `tok_authorize_timeout` (the authorization
 * is made, every answer to it is lost), `tok_capture_timeout` (the capture is made, every answer to
 * it is lost), and `tok_lookup_outage` (as `tok_capture_timeout`, and the payment's first 4
 * lookups are unavailable too). It keeps its outcomes and every call (what it did, whether or not
 * its answer arrived) in the database, so tests count charges, voids, refunds and transfers.
 * Seller accounts are `enabled` at once; a test makes an account's transfers fail by setting its
 * stored outcome (operation `account`, reference = the account id) to `transfers_fail` (or
 * `transfers_unavailable_once`), and back to `enabled`.
 */
export class TestPaymentProvider implements PaymentProvider {
  constructor(
    private readonly db: Knex,
    private readonly webhookSecret: string
  ) {}

  async authorize({ idempotencyKey, token = '', amount, currency }: Parameters<PaymentProvider['authorize']>[0]): Promise<Authorization> {
    const result = AUTHORIZED.has(token)
      ? 'succeeded'
      : token === 'tok_requires_action'
        ? 'requires_action'
        : token === 'tok_unavailable'
          ? (await this.calledBefore(idempotencyKey))
            ? 'succeeded'
            : 'unavailable'
          : token === 'tok_outage'
            ? 'unavailable'
            : 'declined'
    const outcome = await this.call('authorize', idempotencyKey, amount, currency, result, { token })
    if (token === 'tok_authorize_timeout') throw new PaymentUnavailableError('test provider: the answer to authorize timed out')
    if (outcome.result === 'declined') return { status: 'declined', reason: 'card_declined' }
    return outcome.result === 'requires_action' && !outcome.confirmed
      ? { status: 'requires_action', paymentId: outcome.reference, clientSecret: `${outcome.reference}_secret` }
      : { status: 'authorized', paymentId: outcome.reference }
  }

  async capture({ idempotencyKey, paymentId, amount, currency }: Parameters<PaymentProvider['capture']>[0]) {
    const { result, reference, authorizationToken } = await this.call('capture', idempotencyKey, amount, currency, 'succeeded', { paymentId })
    if (result === 'refused') throw new Error(`test provider: cannot capture ${amount} of payment ${paymentId}`)
    if (CAPTURE_TIMES_OUT.has(authorizationToken ?? '')) throw new PaymentUnavailableError('test provider: the answer to capture timed out')
    return { captureId: reference }
  }

  async refund({ idempotencyKey, paymentId, amount, currency }: Parameters<PaymentProvider['refund']>[0]) {
    return { refundId: (await this.call('refund', idempotencyKey, amount, currency, 'succeeded', { paymentId })).reference }
  }

  async void({ idempotencyKey, paymentId }: Parameters<PaymentProvider['void']>[0]) {
    const { amount, currency } = await this.authorization(paymentId)
    return { voidId: (await this.call('void', idempotencyKey, amount, currency, 'succeeded', { paymentId })).reference }
  }

  /** The payment's state from the captures and voids made of it; each lookup is a call (its result the state). */
  async lookup({ paymentId, idempotencyKey }: Parameters<PaymentProvider['lookup']>[0]): Promise<PaymentState> {
    const authorization: StoredOutcome | undefined = paymentId
      ? await this.authorization(paymentId)
      : await this.db('test_provider_outcomes').where({ idempotencyKey, operation: 'authorize' }).first()
    const record = (result: string) => this.db('test_provider_calls').insert({ operation: 'lookup', idempotencyKey, result })
    if (authorization?.token === 'tok_lookup_outage') {
      const lookups = await this.db('test_provider_calls').where({ idempotencyKey, operation: 'lookup' }).count({ n: '*' }).first()
      if (Number(lookups?.n) < LOOKUP_OUTAGE_CALLS) {
        await record('unavailable')
        throw new PaymentUnavailableError('test provider unavailable for lookup')
      }
    }
    const state = await this.stateOf(authorization)
    await record(state.status)
    return state
  }

  /**
   * Pays a seller's account: declined (an error that is not PaymentUnavailableError) when the
   * account's transfers are made to fail (its stored outcome's result `transfers_fail`, as tests
   * set it), unavailable at the first call of each key with `transfers_unavailable_once`, and
   * stored like every call, so a repeated key pays once.
   */
  async transfer({ idempotencyKey, accountId, amount, currency }: Parameters<PaymentProvider['transfer']>[0]) {
    const account: StoredOutcome | undefined = await this.db('test_provider_outcomes').where({ reference: accountId, operation: 'account' }).first()
    const result =
      account?.result === 'enabled' || (account?.result === 'transfers_unavailable_once' && (await this.calledBefore(idempotencyKey)))
        ? 'succeeded'
        : account?.result === 'transfers_unavailable_once'
          ? 'unavailable'
          : 'declined'
    const outcome = await this.call('transfer', idempotencyKey, amount, currency, result, { paymentId: accountId })
    if (outcome.result === 'declined') throw new Error(`test provider: transfers to account ${accountId} are refused`)
    return { transferId: outcome.reference }
  }

  async reverseTransfer({ idempotencyKey, transferId, amount }: Parameters<PaymentProvider['reverseTransfer']>[0]) {
    const transfer: StoredOutcome = await this.db('test_provider_outcomes').where({ reference: transferId, operation: 'transfer' }).first()
    return {
      reversalId: (await this.call('reverse', idempotencyKey, amount, transfer.currency, 'succeeded', { paymentId: transferId })).reference
    }
  }

  /** An account that is `enabled` at once: the test provider asks the seller nothing. */
  async createAccount({ idempotencyKey }: Parameters<PaymentProvider['createAccount']>[0]): Promise<PayoutAccountState> {
    const { reference } = await this.call('account', idempotencyKey, 0, 'XXX', 'enabled')
    return { accountId: reference, status: 'enabled', requirements: [] }
  }

  async onboardingLink({ accountId, returnUrl }: Parameters<PaymentProvider['onboardingLink']>[0]) {
    const url = new URL(returnUrl)
    url.searchParams.set('test_account', accountId)
    return { url: url.toString(), expiresAt: new Date(Date.now() + WEBHOOK_TOLERANCE_S * 1000) }
  }

  /** Checks the Stripe-format signature (5 minutes' tolerance) and reads the event, written as ProviderEvent's JSON. */
  parseWebhook({ rawBody, headers }: Parameters<PaymentProvider['parseWebhook']>[0]): ProviderEvent {
    const header = headers[TEST_SIGNATURE_HEADER]
    const parts = new Map((Array.isArray(header) ? header[0] : (header ?? '')).split(',').map((part) => part.split('=', 2) as [string, string]))
    const timestamp = Number(parts.get('t'))
    const signature = Buffer.from(parts.get('v1') ?? '', 'hex')
    if (!Number.isInteger(timestamp) || signature.length === 0) throw new WebhookSignatureError('Missing or malformed Stripe-Signature header')
    if (Math.abs(Date.now() / 1000 - timestamp) > WEBHOOK_TOLERANCE_S)
      throw new WebhookSignatureError('The webhook signature is outside the tolerance')
    const expected = Buffer.from(signatureOf(this.webhookSecret, timestamp, rawBody), 'hex')
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
      throw new WebhookSignatureError('The webhook signature does not verify')
    }
    const event = JSON.parse(rawBody.toString('utf8')) as ProviderEvent
    if (typeof event.id !== 'string' || typeof event.created !== 'number') throw new WebhookSignatureError('The webhook is not an event')
    return WEBHOOK_TYPES.has(event.type) ? event : { id: event.id, created: event.created, type: 'ignored', providerType: String(event.type) }
  }

  /** The webhook this provider sends for `event`: its body and signed headers (tests post it to /payment-webhooks/test). */
  signWebhook(event: ProviderEvent | { id: string; created: number; type: string }, timestamp = Math.floor(Date.now() / 1000)) {
    const rawBody = JSON.stringify(event)
    const headers = {
      'content-type': 'application/json',
      [TEST_SIGNATURE_HEADER]: `t=${timestamp},v1=${signatureOf(this.webhookSecret, timestamp, rawBody)}`
    }
    return { rawBody, headers }
  }

  /** The buyer confirms a `tok_requires_action` payment (3-D Secure): authorized now, and the signed `payment.authorized` webhook. */
  async confirm(paymentId: string) {
    const { amount, currency } = await this.authorization(paymentId)
    await this.call('confirm', `${paymentId}:confirm`, amount, currency, 'succeeded', { paymentId })
    return this.signWebhook({ id: `evt_${randomUUID()}`, created: Math.floor(Date.now() / 1000), type: 'payment.authorized', paymentId, amount })
  }

  private async stateOf(authorization: StoredOutcome | undefined): Promise<PaymentState> {
    if (!authorization || authorization.result === 'declined') return { status: 'none' }
    const paymentId = authorization.reference
    const later: Array<{ operation: string; reference: string; amount: number }> = await this.db('test_provider_outcomes')
      .where({ paymentId })
      .select('operation', 'reference', 'amount')
    const capture = later.find(({ operation }) => operation === 'capture')
    if (capture) return { status: 'captured', paymentId, captureId: capture.reference, amount: capture.amount }
    if (later.some(({ operation }) => operation === 'void')) return { status: 'voided', paymentId }
    if (authorization.result === 'requires_action' && !later.some(({ operation }) => operation === 'confirm')) {
      return { status: 'requires_action', paymentId }
    }
    return { status: 'authorized', paymentId, amount: authorization.amount }
  }

  private async authorization(reference: string): Promise<StoredOutcome> {
    return this.db('test_provider_outcomes').where({ reference, operation: 'authorize' }).first()
  }

  private async calledBefore(idempotencyKey: string) {
    return (await this.db('test_provider_calls').where({ idempotencyKey }).first('id')) !== undefined
  }

  /** The stored outcome of the key again, or `result` as a new one; an unavailable answer stores none. */
  private async call(
    operation: string,
    key: string,
    amount: number,
    currency: string,
    result: string,
    { token = null, paymentId = null }: { token?: string | null; paymentId?: string | null } = {}
  ): Promise<Outcome> {
    const reference = `test_${operation}_${randomUUID()}`
    const { rows } = await this.db
      .raw(CALL, { key, operation, result, reference, amount, currency, token, paymentId })
      .options({ name: 'marketmesh_test_provider_call_v3' })
    if (rows.length > 0) return rows[0]
    if (result === 'unavailable') throw new PaymentUnavailableError(`test provider unavailable for ${operation}`)
    // Another call with the key stored its outcome while this one ran: the first outcome stays, as at a real provider.
    const { rows: stored } = await this.db.raw(STORED, { key, paymentId })
    return stored[0]
  }
}
