import { randomUUID } from 'node:crypto'
import type { Knex } from '@marketmesh/shared'
import { PaymentUnavailableError, type PaymentProvider } from './provider'

type Outcome = { result: string; reference: string }

/**
 * One statement, one commit per call: the stored outcome of the key, or the new one (kept unless
 * the call is unavailable, or another call with the key stored one first), and the call itself,
 * `replayed` when an outcome was stored before.
 */
const CALL = `
  WITH stored AS (SELECT result, reference FROM test_provider_outcomes WHERE "idempotencyKey" = :key),
       fresh AS (
         INSERT INTO test_provider_outcomes ("idempotencyKey", operation, result, reference, amount, currency)
         SELECT :key, :operation, :result, :reference, CAST(:amount AS integer), :currency
          WHERE :result <> 'unavailable' AND NOT EXISTS (SELECT FROM stored)
             ON CONFLICT ("idempotencyKey") DO NOTHING
         RETURNING result, reference),
       called AS (
         INSERT INTO test_provider_calls (operation, "idempotencyKey", result)
         SELECT :operation, :key, CASE WHEN EXISTS (SELECT FROM stored) THEN 'replayed' ELSE :result END)
  SELECT result, reference FROM stored UNION ALL SELECT result, reference FROM fresh`

/**
 * The built-in `test` provider. Tokens: `tok_ok` pays, `tok_declined` is declined, and
 * `tok_unavailable` is unavailable at the first call of each step, then pays (a transient outage).
 * It keeps its outcomes and every call in the database, so tests count charges.
 */
export class TestPaymentProvider implements PaymentProvider {
  constructor(private readonly db: Knex) {}

  async authorize({ idempotencyKey, token, amount, currency }: Parameters<PaymentProvider['authorize']>[0]) {
    const result =
      token === 'tok_ok'
        ? 'succeeded'
        : token === 'tok_unavailable'
          ? (await this.calledBefore(idempotencyKey))
            ? 'succeeded'
            : 'unavailable'
          : 'declined'
    const outcome = await this.call('authorize', idempotencyKey, amount, currency, result)
    return outcome.result === 'declined'
      ? ({ status: 'declined', reason: 'card_declined' } as const)
      : ({ status: 'authorized', authorizationId: outcome.reference } as const)
  }

  async capture({ idempotencyKey, amount, currency }: Parameters<PaymentProvider['capture']>[0]) {
    return { captureId: (await this.call('capture', idempotencyKey, amount, currency, 'succeeded')).reference }
  }

  async refund({ idempotencyKey, amount, currency }: Parameters<PaymentProvider['refund']>[0]) {
    return { refundId: (await this.call('refund', idempotencyKey, amount, currency, 'succeeded')).reference }
  }

  private async calledBefore(idempotencyKey: string) {
    return (await this.db('test_provider_calls').where({ idempotencyKey }).first('id')) !== undefined
  }

  /** The stored outcome of the key again, or `result` as a new one; an unavailable answer stores none. */
  private async call(operation: string, key: string, amount: number, currency: string, result: string): Promise<Outcome> {
    const reference = `test_${operation}_${randomUUID()}`
    const { rows } = await this.db
      .raw(CALL, { key, operation, result, reference, amount, currency })
      .options({ name: 'marketmesh_test_provider_call' })
    if (rows.length > 0) return rows[0]
    if (result === 'unavailable') throw new PaymentUnavailableError(`test provider unavailable for ${operation}`)
    // Another call with the key stored its outcome while this one ran: the first outcome stays, as at a real provider.
    return (await this.db('test_provider_outcomes').where({ idempotencyKey: key }).first('result', 'reference')) as Outcome
  }
}
