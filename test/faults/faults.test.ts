import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtpServer } from '@marketmesh/test-support/smtp'
import { baseDefaults } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import type { Mesh } from '@marketmesh/test-support/mesh'
import { settle, summaryLine, takeAccounts } from './audit'
import { startFaultMesh } from './mesh'
import { openPrinters, type Printers } from './printers'
import { startPrivatePostgres, startPrivateRabbitMq, type PrivateServer } from './private-servers'
import { openMarket, placeCheckouts } from './shoppers'

// The fault strikes once this many checkouts have been answered: the rest are still in flight,
// and the saga of the first ones (reservations, payments, mails) is under way.
const STRIKE_AFTER = 40

let postgres: PrivateServer
let rabbitmq: PrivateServer
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
let mesh: Mesh

const seconds = (since: number) => (performance.now() - since) / 1000

beforeAll(async () => {
  const began = performance.now()
  ;[postgres, rabbitmq, smtp] = await Promise.all([startPrivatePostgres(), startPrivateRabbitMq(), startSmtpServer()])
  const serversUp = seconds(began)
  mesh = await startFaultMesh({ postgres, rabbitmq, smtpUrl: smtp.url })
  console.log(
    `[faults] private PostgreSQL and RabbitMQ up in ${serversUp.toFixed(1)} s, the four services in ${(seconds(began) - serversUp).toFixed(1)} s more`
  )
})

afterAll(async () => {
  try {
    await mesh?.stop()
  } finally {
    // Also after a scenario that failed with a server down (the mesh's clean-up on it then fails).
    await Promise.all([postgres?.destroy(), rabbitmq?.destroy(), smtp?.close()])
  }
})

/**
 * 200 checkouts at once, the fault in the middle of them, the shops' printers connected throughout,
 * then once everything has settled: every order final as its card says and none lost or made twice,
 * stock that adds up, a trial balance of zero, one mail per paid order and party and none twice (a
 * mailer killed mid-send excepted, see below), one original print job per paid order that every
 * printer of its shop was sent and exactly one printed, no dead letter, no side effect given up.
 */
const scenario = (name: string, fault: (printers: Printers) => Promise<void>, { killsTheMailer = false } = {}) =>
  it(name, async () => {
    const market = await openMarket(mesh, name.split(':')[0])
    const printers = await openPrinters(mesh, market)
    try {
      const mailsBefore = smtp.received.length
      const { placed, progress } = placeCheckouts(mesh, market)
      await waitFor(() => progress.answered >= STRIKE_AFTER, { what: `${STRIKE_AFTER} checkouts answered`, timeoutMs: 120_000 })
      const struck = performance.now()
      await fault(printers)
      const faultSeconds = seconds(struck)
      const checkouts = await placed
      await settle({ mesh, market, printers })
      const accounts = await takeAccounts({ mesh, market, printers, checkouts, mails: smtp.received.slice(mailsBefore) })
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
})
