import { randomUUID } from 'node:crypto'
import type { Knex } from '@marketmesh/shared'
import { PaymentUnavailableError, type PaymentProvider } from './provider'

/**
 * The built-in `test` provider. Tokens: `tok_ok` pays, `tok_declined` is declined, and
 * `tok_unavailable` is unavailable at the first call of each step, then pays (a transient outage).
 * It keeps its outcomes and every call in the database, so tests count charges.
 */
export class TestPaymentProvider implements PaymentProvider {
  constructor(private readonly db: Knex) {}

  async authorize({ idempotencyKey, token, amount, currency }: Parameters<PaymentProvider['authorize']>[0]) {
    const outcome = await this.call('authorize', idempotencyKey, amount, currency, async () => {
      if (token === 'tok_declined') return 'declined'
      if (token === 'tok_unavailable' && !(await this.calledBefore(idempotencyKey))) return 'unavailable'
      if (!['tok_ok', 'tok_unavailable'].includes(token)) return 'declined'
      return 'succeeded'
    })
    return outcome.result === 'declined'
      ? ({ status: 'declined', reason: 'card_declined' } as const)
      : ({ status: 'authorized', authorizationId: outcome.reference } as const)
  }

  async capture({ idempotencyKey, amount, currency }: Parameters<PaymentProvider['capture']>[0]) {
    return { captureId: (await this.call('capture', idempotencyKey, amount, currency, async () => 'succeeded')).reference }
  }

  async refund({ idempotencyKey, amount, currency }: Parameters<PaymentProvider['refund']>[0]) {
    return { refundId: (await this.call('refund', idempotencyKey, amount, currency, async () => 'succeeded')).reference }
  }

  private async calledBefore(idempotencyKey: string) {
    return (await this.db('test_provider_calls').where({ idempotencyKey }).first('id')) !== undefined
  }

  /** The stored outcome of the key again, or a new one; an unavailable answer stores none. */
  private async call(operation: string, idempotencyKey: string, amount: number, currency: string, decide: () => Promise<string>) {
    const stored = await this.db('test_provider_outcomes').where({ idempotencyKey }).first('result', 'reference')
    if (stored) {
      await this.db('test_provider_calls').insert({ operation, idempotencyKey, result: 'replayed' })
      return stored as { result: string; reference: string }
    }
    const result = await decide()
    await this.db('test_provider_calls').insert({ operation, idempotencyKey, result })
    if (result === 'unavailable') throw new PaymentUnavailableError(`test provider unavailable for ${operation}`)
    const outcome = { idempotencyKey, operation, result, reference: `test_${operation}_${randomUUID()}`, amount, currency }
    // Two calls with one key at once: the first outcome stays, as at a real provider.
    await this.db('test_provider_outcomes').insert(outcome).onConflict('idempotencyKey').ignore()
    return (await this.db('test_provider_outcomes').where({ idempotencyKey }).first('result', 'reference')) as { result: string; reference: string }
  }
}
