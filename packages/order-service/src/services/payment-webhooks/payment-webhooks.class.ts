import { BadRequest, NotFound } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import { runInTransaction, setEventCause, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { randomUUID } from 'node:crypto'
import { paymentCaptured, paymentAuthorized, paymentFailed, paymentVoided, type LockedCheckout, type OrderRow } from '../../orders/order'
import { concludePayment } from '../../payments/charge'
import { paymentProviders, WebhookSignatureError, type ProviderEvent } from '../../payments'

export type PaymentWebhookParams = Params & {
  route?: { provider?: string }
  /** The body's bytes as they arrived (hooks/keep-raw-body.ts): what the signature is over. */
  rawBody?: Buffer
}

/** What a provider is answered: it stops resending an event once it has a 2xx. */
export interface PaymentWebhookReceipt {
  received: true
  /** False for an event seen before (its first delivery was handled) or one this service does not act on. */
  handled: boolean
}

type PaymentEvent = Extract<ProviderEvent, { paymentId: string }>

/**
 * POST /payment-webhooks/:provider: a provider tells what became of a payment. The signature is
 * checked over the raw body (400 when missing or wrong), each event is handled once (its id kept in
 * `payment_webhook_events`, in the transaction that acts on it), and in any order: the payment's
 * steps (orders/order.ts) only move it forward, so an older event changes nothing. Events about
 * payments this service does not know, and types it does not act on, are acknowledged and ignored.
 */
export class PaymentWebhookService {
  constructor(private readonly app: ServiceApplication) {}

  async create(_data: unknown, params: PaymentWebhookParams): Promise<PaymentWebhookReceipt> {
    const name = params.route?.provider ?? ''
    const provider = paymentProviders(this.app)[name]
    if (!provider) throw new NotFound(`No payment provider ${name}`)
    if (!params.rawBody) throw new BadRequest('A webhook is a JSON body signed by its provider')
    let event: ProviderEvent
    try {
      event = provider.parseWebhook({ rawBody: params.rawBody, headers: params.headers ?? {} })
    } catch (error) {
      if (error instanceof WebhookSignatureError || error instanceof SyntaxError) throw new BadRequest(`Invalid webhook: ${error.message}`)
      throw error
    }
    const db: Knex = this.app.get('postgresqlClient')
    return runInTransaction(db, async (trx) => {
      const first = await trx('payment_webhook_events')
        .insert({ provider: name, eventId: event.id, type: event.type })
        .onConflict(['provider', 'eventId'])
        .ignore()
        .returning('eventId')
      if (first.length === 0 || !('paymentId' in event)) return { received: true, handled: false }
      const payment = await trx('payments').where({ provider: name, paymentId: event.paymentId }).first('checkoutId')
      if (!payment) return { received: true, handled: false }
      const cause = { correlationId: payment.checkoutId as string, causationId: randomUUID() }
      setEventCause(trx, cause)
      await concludePayment(this.app, trx, payment.checkoutId, (checkout) => this.step(trx, checkout, event, cause))
      return { received: true, handled: true }
    })
  }

  /** The payment's step the event reports. */
  private step(
    trx: Knex.Transaction,
    checkout: LockedCheckout,
    event: PaymentEvent,
    cause: { correlationId: string; causationId: string }
  ): Promise<OrderRow[]> {
    switch (event.type) {
      case 'payment.authorized':
        return paymentAuthorized(this.app, trx, checkout, event.paymentId, cause)
      case 'payment.captured':
        return paymentCaptured(this.app, trx, checkout, null)
      case 'payment.failed':
        return paymentFailed(this.app, trx, checkout, event.reason)
      case 'payment.canceled':
        return paymentVoided(this.app, trx, checkout)
    }
  }
}
