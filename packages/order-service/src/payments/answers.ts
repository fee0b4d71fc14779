import type { ServiceApplication } from '@marketmesh/shared'
import type { PaymentRow } from '../orders/payment'

/**
 * The payments whose answer a checkout request waits for in this process (POST /checkouts answers
 * with the authorization's outcome): a conclusion of the payment committed here hands it to the
 * waiting request at once, instead of the request reading the payment again and again. One
 * concluded elsewhere (another instance's runner or webhook) is not seen here: the waiter reads
 * the payment itself when its wait ends.
 */
export class PaymentAnswers {
  private readonly waiting = new Map<string, Set<(payment: PaymentRow) => void>>()

  /**
   * Resolves with the payment once a conclusion moving it out of `authorizing` has committed in
   * this process, or with undefined after `ms`. Waiting starts when this is called: call it before
   * reading the payment, so an answer committed after that read is not missed.
   */
  wait(paymentId: string, ms: number): Promise<PaymentRow | undefined> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(paymentId) ?? new Set()
      this.waiting.set(paymentId, waiters)
      const answer = (payment?: PaymentRow) => {
        clearTimeout(timer)
        waiters.delete(answer)
        if (waiters.size === 0 && this.waiting.get(paymentId) === waiters) this.waiting.delete(paymentId)
        resolve(payment)
      }
      const timer = setTimeout(answer, ms)
      waiters.add(answer)
    })
  }

  /** A conclusion of `payment` committed: the requests waiting for it get it. */
  answered(payment: PaymentRow) {
    if (payment.status === 'authorizing') return
    for (const answer of [...(this.waiting.get(payment.id) ?? [])]) answer({ ...payment })
  }
}

const answersOf = new WeakMap<ServiceApplication, PaymentAnswers>()

/** The app's PaymentAnswers, created once. */
export const paymentAnswers = (app: ServiceApplication) => {
  let answers = answersOf.get(app)
  if (!answers) answersOf.set(app, (answers = new PaymentAnswers()))
  return answers
}
