import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtpServer } from '@marketmesh/test-support/smtp'
import { startStripeServer, type StripeServer } from '@marketmesh/test-support/stripe'
import { baseDefaults } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import type { Mesh } from '@marketmesh/test-support/mesh'
import { refundAndPayOut } from './aftermath'
import { handedToLookup as paymentCallsHandedToLookup, ordersOf, settle, summaryLine, takeAccounts, type Accounts } from './audit'
import { adminToken, call } from './http'
import { startFaultMesh } from './mesh'
import { openPrinters, type Printers } from './printers'
import { startPrivatePostgres, startPrivateRabbitMq, type PrivateServer } from './private-servers'
import { openMarket, placeCheckouts, type PaymentProviderName } from './shoppers'
import { stripeAccounts } from './stripe-audit'

// The fault strikes once this many checkouts have been answered: the rest are still in flight,
// and the saga of the first ones (reservations, payments, mails) is under way.
const STRIKE_AFTER = 40
// How many payments Stripe captures while losing every answer to the capture.
const ANSWERLESS_CAPTURES = 10
// How many authorizations and captures whose webhooks arrive before Stripe's answer to the call.
const EARLY_WEBHOOKS_OF_EACH = 20
// How many answers of Stripe are lost while orders are refunded and paid out.
const LOST_ANSWERS_AFTER = 15

let postgres: PrivateServer
let rabbitmq: PrivateServer
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
let mesh: Mesh
let stripe: StripeServer

const seconds = (since: number) => (performance.now() - since) / 1000

beforeAll(async () => {
  const began = performance.now()
  ;[postgres, rabbitmq, smtp, stripe] = await Promise.all([startPrivatePostgres(), startPrivateRabbitMq(), startSmtpServer(), startStripeServer()])
  const serversUp = seconds(began)
  mesh = await startFaultMesh({ postgres, rabbitmq, smtpUrl: smtp.url, stripe })
  // Stripe posts its events to order-service's endpoint, as its dashboard's webhook endpoint would.
  stripe.sendWebhooksTo(`${mesh.urls.order}/payment-webhooks/stripe`)
  console.log(
    `[faults] private PostgreSQL and RabbitMQ up in ${serversUp.toFixed(1)} s, the four services in ${(seconds(began) - serversUp).toFixed(1)} s more`
  )
})

afterAll(async () => {
  try {
    await mesh?.stop()
  } finally {
    // Also after a scenario that failed with a server down (the mesh's clean-up on it then fails).
    await Promise.all([postgres?.destroy(), rabbitmq?.destroy(), smtp?.close(), stripe?.close()])
  }
})

interface ScenarioOptions {
  /** The fault kills notify-service while it mails (see below). */
  killsTheMailer?: boolean
  /** Who the buyers pay: the `test` provider, or Stripe (the local Stripe-compatible server, audited too). */
  provider?: PaymentProviderName
  /** Payment calls the fault makes order-service give up and settle by looking the payment up. */
  handedToLookup?: number
  /** What the scenario checks of its own. */
  check?: (accounts: Accounts) => void
  /**
   * Paid through Stripe: the fault again while, once all has settled, orders are refunded and
   * paid out to the sellers (./aftermath.ts); then neither is made twice and the books balance.
   */
  whileRefundingAndPayingOut?: () => void
}

/**
 * 200 checkouts at once, the fault in the middle of them, the shops' printers connected throughout,
 * then once everything has settled: every order final as its card says and none lost or made twice,
 * stock that adds up, a trial balance of zero, one mail per paid order and party and none twice (a
 * mailer killed mid-send excepted, see below), one original print job per paid order that every
 * printer of its shop was sent and exactly one printed, no dead letter, no side effect given up
 * (but the payment calls handed to a lookup). Paid through Stripe, also once Stripe's withheld
 * webhooks have arrived late: one payment intent per checkout, captured once and for the paid
 * orders only, nothing refunded or transferred but what order-service recorded, once.
 */
const scenario = (
  name: string,
  fault: (printers: Printers) => Promise<void>,
  { killsTheMailer = false, provider = 'test', handedToLookup = 0, check, whileRefundingAndPayingOut }: ScenarioOptions = {}
) =>
  it(name, async () => {
    const market = await openMarket(mesh, name.split(':')[0])
    const printers = await openPrinters(mesh, market)
    const paidThroughStripe = provider === 'stripe' ? stripe : undefined
    try {
      const mailsBefore = smtp.received.length
      const handedBefore = await paymentCallsHandedToLookup(mesh)
      const { placed, progress } = placeCheckouts(mesh, market, provider)
      await waitFor(() => progress.answered >= STRIKE_AFTER, { what: `${STRIKE_AFTER} checkouts answered`, timeoutMs: 120_000 })
      const struck = performance.now()
      await fault(printers)
      const faultSeconds = seconds(struck)
      const checkouts = await placed
      await settle({ mesh, market, printers, stripe: paidThroughStripe })
      // Events Stripe held back arrive now, after order-service settled without them: they change nothing.
      if (paidThroughStripe?.releaseWithheldWebhooks()) await settle({ mesh, market, printers, stripe: paidThroughStripe })
      const accounts = await takeAccounts({ mesh, market, printers, checkouts, mails: smtp.received.slice(mailsBefore), stripe: paidThroughStripe })
      console.log(summaryLine(name, accounts, faultSeconds))

      expect(accounts.orderIdsHeld).toEqual(accounts.orderIdsAnswered)
      expect(accounts.orders).toBe(2 * checkouts.length)
      expect(accounts.pending).toBe(0)
      expect(accounts.paid).toBeGreaterThan(0)
      expect(accounts.unexpectedEnds).toEqual([])
      for (const product of accounts.stock) expect(product.remaining + product.sold, `stock of ${product.productId}`).toBe(product.initial)
      for (const line of accounts.trialBalance) expect(line.balance, `trial balance in ${line.currency}`).toBe(0)
      expect(accounts.mailsPerPaidOrder.every((count) => count === 2)).toBe(true)
      expect(accounts.mailsPerUnpaidOrder.every((count) => count === 0)).toBe(true)
      // SMTP cannot take part in notify-service's transaction: a mail the server accepted just
      // before notify-service was killed, and not yet recorded sent, goes out again after the
      // lease, under its Message-ID (so that the mailbox shows it once). At most the mails in
      // flight at the kill; none in any other fault.
      if (killsTheMailer) expect(accounts.resentMails).toBeLessThanOrEqual(baseDefaults.sideEffects.concurrency)
      else expect(accounts.resentMails).toBe(0)
      expect(accounts.deadLetters).toBe(0)
      expect(accounts.failedSideEffects).toBe(0)
      expect(accounts.handedToLookup - handedBefore).toBe(handedToLookup)
      if (accounts.stripe) {
        expect(accounts.stripe.problems).toEqual({ intents: [], captures: [], refunds: [], transfers: [] })
        expect(accounts.stripe.intents).toBe(checkouts.length)
        expect(accounts.stripe.violations).toBe(0)
      }
      check?.(accounts)

      if (paidThroughStripe && whileRefundingAndPayingOut) {
        const moved = await refundAndPayOut({ mesh, market, stripe, during: whileRefundingAndPayingOut })
        Object.assign(stripe.faults, { lostAnswers: 0, webhooksBeforeAnswers: false })
        const books = await stripeAccounts({ mesh, market, stripe, orders: await ordersOf(mesh, market) })
        const { trialBalance } = (await call(mesh.urls.order, 'GET', '/ledger', { token: adminToken() })) as Pick<Accounts, 'trialBalance'>
        console.log(
          `[faults] ${name.split(':')[0]}, then ${moved.refunded} paid orders cancelled and ${moved.paidOut} delivered: ` +
            `Stripe: ${books.refunds} refunds (${books.refunded} cents), ${books.transfers} transfers for ${books.payouts} payouts, ` +
            `${books.violations} OpenAPI violations; trial balance ${trialBalance.map((line) => `${line.balance} ${line.currency}`).join(', ')}`
        )
        expect(books.problems).toEqual({ intents: [], captures: [], refunds: [], transfers: [] })
        expect(books.refunds).toBe(moved.refunded)
        expect(books.transfers).toBe(moved.paidOut)
        expect(books.violations).toBe(0)
        for (const line of trialBalance) expect(line.balance, `trial balance in ${line.currency}`).toBe(0)
      }
      const { printing } = accounts
      expect(printing.originalsPerPaidOrder.every((count) => count === 1)).toBe(true)
      expect(printing.jobsOfUnpaidOrders).toEqual([])
      expect(printing.notPrinted).toEqual([])
      expect(printing.notClaimedOnce).toEqual([])
      expect(printing.missed).toEqual([])
      expect(printing.foreign).toEqual([])
      expect(printing.repeatedIds).toEqual([])
      expect(printing.failures).toEqual([])
    } finally {
      await printers.close()
    }
  })

// One after another, as every file's tests run (sequence.concurrent is off).
describe('faults while 200 checkouts are in flight', () => {
  scenario('catalog-killed: catalog-service is killed with SIGKILL and restarted', async () => {
    await mesh.kill('catalog')
    await mesh.start('catalog')
  })

  scenario('rabbitmq-restarted: RabbitMQ is stopped and started again', async () => {
    await rabbitmq.stop()
    await rabbitmq.start()
  })

  scenario(
    'notify-killed: notify-service is killed with SIGKILL while printers print, and restarted',
    async (printers) => {
      // Struck while receipts are going out: some printed, more queued and being claimed.
      await waitFor(() => printers.records.some((printer) => printer.won.length >= 5), { what: 'printers printing', timeoutMs: 120_000 })
      const connections = printers.records.map((printer) => printer.connections)
      await mesh.kill('notify')
      await mesh.start('notify')
      await waitFor(() => printers.records.every((printer, index) => printer.connections > connections[index]), {
        what: 'every printer to reconnect',
        timeoutMs: 60_000
      })
    },
    { killsTheMailer: true }
  )

  scenario('postgres-restarted: PostgreSQL is stopped and started again', async () => {
    await postgres.stop()
    await postgres.start()
  })

  // The payment provider's faults, on Stripe's API as the local server speaks it.
  scenario(
    `capture-answers-lost: Stripe captures ${ANSWERLESS_CAPTURES} payments and every answer to their captures is lost, their webhooks late`,
    async () => {
      stripe.faults.capturesLost = ANSWERLESS_CAPTURES
      await waitFor(() => stripe.faults.capturesLost === 0, { what: `${ANSWERLESS_CAPTURES} answerless captures`, timeoutMs: 120_000 })
    },
    {
      provider: 'stripe',
      // Each capture is asked again with its key (Stripe replays its answer, lost again) until
      // order-service gives up and looks the payment up: captured, so its orders are paid.
      handedToLookup: ANSWERLESS_CAPTURES,
      check: ({ stripe: accounts }) => {
        expect(accounts!.lookupsOfAnswerless).toHaveLength(ANSWERLESS_CAPTURES)
        expect(accounts!.lookupsOfAnswerless.every((lookups) => lookups >= 1)).toBe(true)
        expect(accounts!.replayedCaptures).toBeGreaterThan(0)
      },
      // The answers to the next refunds and transfers are lost: asked again with their keys, made once.
      whileRefundingAndPayingOut: () => void (stripe.faults.lostAnswers = LOST_ANSWERS_AFTER)
    }
  )

  scenario(
    'webhook-before-answer: Stripe posts each payment event to order-service before it answers the call that caused it',
    async () => {
      stripe.faults.webhooksBeforeAnswers = true
      const early = (type: string) => stripe.webhookDeliveries.filter((delivery) => delivery.beforeAnswer && delivery.type === type).length
      try {
        await waitFor(
          () =>
            early('payment_intent.amount_capturable_updated') >= EARLY_WEBHOOKS_OF_EACH &&
            early('payment_intent.succeeded') >= EARLY_WEBHOOKS_OF_EACH,
          { what: `${EARLY_WEBHOOKS_OF_EACH} authorizations and captures told by webhook before their answers`, timeoutMs: 120_000 }
        )
      } finally {
        stripe.faults.webhooksBeforeAnswers = false
      }
    },
    {
      provider: 'stripe',
      // Each early event found its payment (by the checkout, before the provider's id was stored) and took its step.
      check: ({ stripe: accounts }) => {
        expect(accounts!.earlyWebhooks).toBeGreaterThanOrEqual(2 * EARLY_WEBHOOKS_OF_EACH)
        expect(accounts!.earlyNotHandled).toEqual([])
      },
      whileRefundingAndPayingOut: () => void (stripe.faults.webhooksBeforeAnswers = true)
    }
  )
})
