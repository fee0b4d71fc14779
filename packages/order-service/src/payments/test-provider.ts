import { randomUUID } from 'node:crypto'
import type { Knex } from '@marketmesh/shared'
import { PaymentUnavailableError, type PaymentProvider, type PaymentState, type PayoutAccountState, type ProviderEvent } from './provider'

type Outcome = { result: string; reference: string }

interface StoredOutcome extends Outcome {
  operation: string
  amount: number
  currency: string
  token: string | null
}

/**
 * One statement, one commit per call: the stored outcome of the key, or the new one (kept unless
 * the call is unavailable, or another call with the key stored one first), and the call itself,
 * `replayed` when an outcome was stored before.
 */
const CALL = `
  WITH stored AS (SELECT result, reference FROM test_provider_outcomes WHERE "idempotencyKey" = :key),
       fresh AS (
         INSERT INTO test_provider_outcomes ("idempotencyKey", operation, result, reference, amount, currency, token, "authorizationId")
         SELECT :key, :operation, :result, :reference, CAST(:amount AS integer), :currency, CAST(:token AS text), CAST(:authorizationId AS text)
          WHERE :result <> 'unavailable' AND NOT EXISTS (SELECT FROM stored)
             ON CONFLICT ("idempotencyKey") DO NOTHING
         RETURNING result, reference),
       called AS (
         INSERT INTO test_provider_calls (operation, "idempotencyKey", result)
         SELECT :operation, :key, CASE WHEN EXISTS (SELECT FROM stored) THEN 'replayed' ELSE :result END)
  SELECT result, reference FROM stored UNION ALL SELECT result, reference FROM fresh`

/** Tokens whose authorization is made at the provider, and which differ from `tok_ok` only later. */
const AUTHORIZED = new Set(['tok_ok', 'tok_authorize_timeout', 'tok_capture_timeout', 'tok_lookup_outage'])
/** Tokens whose capture is made, and every answer to it lost. */
const CAPTURE_TIMES_OUT = new Set(['tok_capture_timeout', 'tok_lookup_outage'])
/** How many lookups of a `tok_lookup_outage` payment are unavailable before one answers. */
const LOOKUP_OUTAGE_CALLS = 4

/**
 * The built-in `test` provider. Tokens: `tok_ok` pays, `tok_declined` is declined, and
 * `tok_unavailable` is unavailable at the first call of each step, then pays (a transient outage).
 * Outages that outlast every retry: `tok_outage` (no authorization reaches the provider),
 * `tok_authorize_timeout` (the authorization is made, every answer to it is lost),
 * `tok_capture_timeout` (the capture is made, every answer to it is lost), and `tok_lookup_outage`
 * (as `tok_capture_timeout`, and the payment's first 4 lookups are unavailable too). It keeps its
 * outcomes and every call (what it did, whether or not its answer arrived) in the database, so
 * tests count charges and voids.
 */
export class TestPaymentProvider implements PaymentProvider {
  constructor(private readonly db: Knex) {}

  async authorize({ idempotencyKey, token, amount, currency }: Parameters<PaymentProvider['authorize']>[0]) {
    const result = AUTHORIZED.has(token ?? '')
      ? 'succeeded'
      : token === 'tok_unavailable'
        ? (await this.calledBefore(idempotencyKey))
          ? 'succeeded'
          : 'unavailable'
        : token === 'tok_outage'
          ? 'unavailable'
          : 'declined'
    const outcome = await this.call('authorize', idempotencyKey, amount, currency, result, { token })
    if (token === 'tok_authorize_timeout') throw new PaymentUnavailableError('test provider: the answer to authorize timed out')
    return outcome.result === 'declined'
      ? ({ status: 'declined', reason: 'card_declined' } as const)
      : ({ status: 'authorized', paymentId: outcome.reference } as const)
  }

  async capture({ idempotencyKey, paymentId, amount, currency }: Parameters<PaymentProvider['capture']>[0]) {
    const { reference } = await this.call('capture', idempotencyKey, amount, currency, 'succeeded', { authorizationId: paymentId })
    if (CAPTURE_TIMES_OUT.has((await this.authorization(paymentId)).token ?? '')) {
      throw new PaymentUnavailableError('test provider: the answer to capture timed out')
    }
    return { captureId: reference }
  }

  async refund({ idempotencyKey, amount, currency }: Parameters<PaymentProvider['refund']>[0]) {
    return { refundId: (await this.call('refund', idempotencyKey, amount, currency, 'succeeded')).reference }
  }

  async void({ idempotencyKey, paymentId }: Parameters<PaymentProvider['void']>[0]) {
    const { amount, currency } = await this.authorization(paymentId)
    return { voidId: (await this.call('void', idempotencyKey, amount, currency, 'succeeded', { authorizationId: paymentId })).reference }
  }

  // Payouts and webhooks of the test provider come with the v2 payment flow (issue #23, engineer `money`).
  transfer(): Promise<{ transferId: string }> {
    throw new Error('test provider: transfers are not supported yet')
  }

  reverseTransfer(): Promise<{ reversalId: string }> {
    throw new Error('test provider: transfer reversals are not supported yet')
  }

  createAccount(): Promise<PayoutAccountState> {
    throw new Error('test provider: accounts are not supported yet')
  }

  onboardingLink(): Promise<{ url: string; expiresAt: Date }> {
    throw new Error('test provider: onboarding links are not supported yet')
  }

  parseWebhook(): ProviderEvent {
    throw new Error('test provider: webhooks are not supported yet')
  }

  /** The authorization's state from the captures and voids made of it; each lookup is a call (its result the state). */
  async lookup({ idempotencyKey }: Parameters<PaymentProvider['lookup']>[0]): Promise<PaymentState> {
    const authorization: StoredOutcome | undefined = await this.db('test_provider_outcomes').where({ idempotencyKey, operation: 'authorize' }).first()
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

  private async stateOf(authorization: StoredOutcome | undefined): Promise<PaymentState> {
    if (authorization?.result !== 'succeeded') return { status: 'none' }
    const later: Array<{ operation: string; reference: string }> = await this.db('test_provider_outcomes')
      .where({ authorizationId: authorization.reference })
      .select('operation', 'reference')
    const capture = later.find(({ operation }) => operation === 'capture')
    const paymentId = authorization.reference
    if (capture) return { status: 'captured', paymentId, captureId: capture.reference, amount: authorization.amount }
    if (later.some(({ operation }) => operation === 'void')) return { status: 'voided', paymentId }
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
    { token = null, authorizationId = null }: { token?: string | null; authorizationId?: string | null } = {}
  ): Promise<Outcome> {
    const reference = `test_${operation}_${randomUUID()}`
    const { rows } = await this.db
      .raw(CALL, { key, operation, result, reference, amount, currency, token, authorizationId })
      .options({ name: 'marketmesh_test_provider_call' })
    if (rows.length > 0) return rows[0]
    if (result === 'unavailable') throw new PaymentUnavailableError(`test provider unavailable for ${operation}`)
    // Another call with the key stored its outcome while this one ran: the first outcome stays, as at a real provider.
    return (await this.db('test_provider_outcomes').where({ idempotencyKey: key }).first('result', 'reference')) as Outcome
  }
}
