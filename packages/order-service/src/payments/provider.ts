/**
 * What order-service needs of a payment provider. Every call carries an idempotency key derived
 * from the order and the step (`<orderId>:capture`): a call repeated after a crash or a timeout
 * answers what the first one did, and never charges twice.
 */
export interface PaymentProvider {
  authorize(request: { idempotencyKey: string; token: string; amount: number; currency: string }): Promise<Authorization>
  capture(request: { idempotencyKey: string; authorizationId: string; amount: number; currency: string }): Promise<{ captureId: string }>
  refund(request: { idempotencyKey: string; captureId: string; amount: number; currency: string }): Promise<{ refundId: string }>
  /**
   * What became of the payment its authorization's `idempotencyKey` began, when the answers to its
   * calls were lost: read-only, so it may be asked any number of times.
   */
  lookup(request: { idempotencyKey: string }): Promise<PaymentState>
  /** Releases the hold of an authorization that will not be captured; a repeated key answers the first void again. */
  void(request: { idempotencyKey: string; authorizationId: string }): Promise<{ voidId: string }>
}

export type Authorization = { status: 'authorized'; authorizationId: string } | { status: 'declined'; reason: string }

/** A payment as its provider knows it; `none`: nothing was authorized (no call arrived, or it was declined). */
export type PaymentState =
  { status: 'none' } | { status: 'authorized'; authorizationId: string } | { status: 'captured'; captureId: string } | { status: 'voided' }

/** The provider could not answer (timeout, 5xx, maintenance): try again later; not a decline. */
export class PaymentUnavailableError extends Error {
  override name = 'PaymentUnavailableError'
}
