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
  it('tells the seller alone of their payouts on their stream, and mails a failed one once', async () => {
    const shop = seller()
    const registered = userRegistered(shop)
    await notify.emit('user.registered', registered)
    await logHolds(notify, 1)
    const failed: EventData<'payout.failed'> = { ...payoutOf(shop), reason: 'account closed\r\nBcc: x@example.test' }
    const failedEvent = envelope('payout.failed', failed)
    await notify.publishRaw(failedEvent)
    await notify.emit('payout.paid', { ...payoutOf(shop), reference: 'tr_1' })
    await notify.emit('payout.reversed', { ...payoutOf(shop), reason: 'refund' })
    await logHolds(notify, 4)
    await waitFor(() => smtp.received.some(({ to }) => to === registered.email), { what: 'the payout-failed mail' })
    // A redelivery mails nothing more.
    await notify.publishRaw(failedEvent)
    await new Promise((resolve) => setTimeout(resolve, 1_000))

    const mails = smtp.received.filter(({ to }) => to === registered.email)
    expect(mails.map(({ subject }) => subject)).toEqual(['Your payout of €180.00 failed'])
    expect(mails[0].text).toContain(`for order ${failed.orderId}: account closed`)
    expect(await typesFor(shop)).toEqual(['payout.failed', 'payout.paid', 'payout.reversed', 'user.registered'])
    expect(await typesFor(seller())).toEqual([])
    expect(await typesFor(buyer())).toEqual([])
  })
})
