/**
 * What order-service needs of a payment provider. Every call carries an idempotency key derived
 * from the order and the step (`<orderId>:capture`): a call repeated after a crash or a timeout
 * answers what the first one did, and never charges twice.
 */
export interface PaymentProvider {
  authorize(request: { idempotencyKey: string; token: string; amount: number; currency: string }): Promise<Authorization>
  capture(request: { idempotencyKey: string; authorizationId: string; amount: number; currency: string }): Promise<{ captureId: string }>
  refund(request: { idempotencyKey: string; captureId: string; amount: number; currency: string }): Promise<{ refundId: string }>
}

export type Authorization = { status: 'authorized'; authorizationId: string } | { status: 'declined'; reason: string }

/** The provider could not answer (timeout, 5xx, maintenance): try again later; not a decline. */
export class PaymentUnavailableError extends Error {
  override name = 'PaymentUnavailableError'
}
