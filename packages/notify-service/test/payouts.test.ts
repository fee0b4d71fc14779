import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EventData } from '@marketmesh/events'
import type { Principal } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import { envelope } from '@marketmesh/test-support/service-under-test'
import { startSmtpServer } from '@marketmesh/test-support/smtp'
import { buyer, logHolds, seller, startNotify, userRegistered, type Notify } from './helpers'

let notify: Notify
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
beforeAll(async () => {
  smtp = await startSmtpServer()
  notify = await startNotify('notify_payouts', {
    mail: { smtpUrl: smtp.url },
    sideEffects: { retryDelaysMs: Array(20).fill(300), pollIntervalMs: 100 }
  })
})
afterAll(async () => {
  await notify?.close()
  await smtp?.close()
})

const payoutOf = (shop: Principal) => ({
  payoutId: randomUUID(),
  orderId: randomUUID(),
  sellerId: shop.sellerId!,
  version: 2,
  amount: 18_000,
  currency: 'EUR'
})

const typesFor = async (who: Principal) => {
  const { body } = await notify.call('GET', '/notifications', { as: who })
  return body.data.map((n: { type: string }) => n.type).sort()
}

describe('payout notifications', () => {
  it('tells the seller alone of their payouts on their stream, and mails a failed one and one the provider took back once', async () => {
    const shop = seller()
    const registered = userRegistered(shop)
    await notify.emit('user.registered', registered)
    await logHolds(notify, 1)
    const failed: EventData<'payout.failed'> = { ...payoutOf(shop), reason: 'account closed\r\nBcc: x@example.test' }
    const failedEvent = envelope('payout.failed', failed)
    await notify.publishRaw(failedEvent)
    await notify.emit('payout.paid', { ...payoutOf(shop), reference: 'tr_1' })
    // Taken back for a refund: the refund's news, no mail. Taken back by the provider: the money is back in their balance, mailed.
    await notify.emit('payout.reversed', { ...payoutOf(shop), reason: 'refund' })
    const takenBack: EventData<'payout.reversed'> = { ...payoutOf(shop), amount: 4_500, version: 4, reason: 'provider' }
    const takenBackEvent = envelope('payout.reversed', takenBack)
    await notify.publishRaw(takenBackEvent)
    await logHolds(notify, 5)
    const mailsTo = () => smtp.received.filter(({ to }) => to === registered.email)
    await waitFor(() => mailsTo().length >= 2, { what: 'the payout-failed and payout-reversed mails' })
    // A redelivery mails nothing more.
    await notify.publishRaw(failedEvent)
    await notify.publishRaw(takenBackEvent)
    await new Promise((resolve) => setTimeout(resolve, 1_000))

    const mails = mailsTo()
    expect(mails.map(({ subject }) => subject).sort()).toEqual(['Your payout of €180.00 failed', '€45.00 of your payout was taken back'])
    expect(mails.find(({ subject }) => subject.includes('failed'))!.text).toContain(`for order ${failed.orderId}: account closed`)
    expect(mails.find(({ subject }) => subject.includes('taken back'))!.text).toContain(
      `took back €45.00 of what we paid you for order ${takenBack.orderId}`
    )
    expect(await typesFor(shop)).toEqual(['payout.failed', 'payout.paid', 'payout.reversed', 'payout.reversed', 'user.registered'])
    expect(await typesFor(seller())).toEqual([])
    expect(await typesFor(buyer())).toEqual([])
  })
})
