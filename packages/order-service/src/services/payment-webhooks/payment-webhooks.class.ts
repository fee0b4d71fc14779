import { BadRequest, NotFound } from '@feathersjs/errors'
import type { Params } from '@feathersjs/feathers'
import { runInTransaction, withEventCause } from '@marketmesh/events'
import { isUuid, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { randomUUID } from 'node:crypto'
import { paymentCaptured, paymentAuthorized, paymentFailed, paymentVoided, type LockedCheckout, type OrderRow } from '../../orders/order'
import { concludePayment } from '../../payments/charge'
import { paymentProviders, WebhookSignatureError, type ProviderEvent } from '../../payments'
import { applyAccountUpdate, applyTransferFailed, applyTransferReversed } from '../../payouts/payout'

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
 * steps (orders/order.ts) only move it forward, so an older event changes nothing. A seller's
 * account and transfer events go to the payouts (payouts/payout.ts), which order them the same
 * way. A payment event may arrive before the provider's answer to our own call (its authorization
 * answer, with the provider's id, not stored yet): it finds the payment by its checkout and takes
 * its step then, and the answer arriving after finds that step taken. Events about payments this
 * service does not know, and types it does not act on, are acknowledged and ignored.
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
      if (first.length === 0) return { received: true, handled: false }
      if (!('paymentId' in event)) return { received: true, handled: await this.payoutStep(trx, event) }
      const payment = await this.paymentOf(trx, name, event)
      if (!payment) return { received: true, handled: false }
      const cause = { correlationId: payment.checkoutId as string, causationId: randomUUID() }
      return withEventCause(cause, async () => {
        await concludePayment(this.app, trx, payment.checkoutId, (checkout) => this.step(trx, checkout, event, cause))
        return { received: true, handled: true }
      })
    })
  }

  /**
   * The payment the event is about: by the provider's id, or, when the event arrived before the
   * authorization's answer stored that id, by the checkout the provider says it was made for.
   */
  private async paymentOf(trx: Knex.Transaction, provider: string, event: PaymentEvent): Promise<{ checkoutId: string } | undefined> {
    const known = await trx('payments').where({ provider, paymentId: event.paymentId }).first('checkoutId')
    if (known || !event.checkoutId || !isUuid(event.checkoutId)) return known
    return trx('payments').where({ provider, checkoutId: event.checkoutId }).whereNull('paymentId').first('checkoutId')
  }

  /** What a seller's account or transfer event changes of the payouts (payouts/payout.ts); false for a type not acted on. */
  private async payoutStep(trx: Knex.Transaction, event: Exclude<ProviderEvent, PaymentEvent>): Promise<boolean> {
    switch (event.type) {
      case 'account.updated':
        return (await applyAccountUpdate(this.app, trx, event.account, new Date(event.created * 1000))) !== undefined
      case 'transfer.failed':
        await applyTransferFailed(this.app, trx, event)
        return true
      case 'transfer.reversed':
        await applyTransferReversed(this.app, trx, event)
        return true
      case 'ignored':
        return false
    }
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
        return paymentCaptured(this.app, trx, checkout, { paymentId: event.paymentId, captureId: event.captureId ?? null })
      case 'payment.failed':
        return paymentFailed(this.app, trx, checkout, event.reason)
      case 'payment.canceled':
        return paymentVoided(this.app, trx, checkout)
    }
  }
}
