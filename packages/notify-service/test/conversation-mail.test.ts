import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { streamOpener } from '@marketmesh/test-support/sse'
import { startSmtpServer } from '@marketmesh/test-support/smtp'
import { buyer, orderCreated, seller, startNotify, userRegistered, type Notify } from './helpers'

const quickRetries = { sideEffects: { retryDelaysMs: Array(20).fill(300), pollIntervalMs: 100 } }
const settle = (ms = 1_000) => new Promise((resolve) => setTimeout(resolve, ms))

describe('conversation mail', () => {
  let notify: Notify | undefined
  let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined
  const { open, closeAll } = streamOpener()
  afterEach(async () => {
    closeAll()
    await notify?.close()
    await smtp?.close()
    notify = smtp = undefined
  })

  const start = async (label: string, mailAfter: string) => {
    smtp = await startSmtpServer()
    notify = await startNotify(label, {
      mail: { smtpUrl: smtp.url, appUrl: 'https://shop.example' },
      conversations: { mailAfter },
      ...quickRetries
    })
    const ada = buyer()
    const shop = seller()
    await notify.emit('user.registered', userRegistered(ada, { name: 'Ada' }))
    await notify.emit('user.registered', userRegistered(shop, { shopName: 'Oak & Iron' }))
    await waitFor(() =>
      notify!
        .db('users')
        .whereIn('id', [ada.id, shop.id])
        .count({ n: '*' })
        .first()
        .then((row) => Number(row?.n) === 2)
    )
    const order = await orderCreated(notify, ada, shop)
    return { notify, smtp, ada, shop, order }
  }

  it('mails a party with no stream open at most once per CONVERSATION_MAIL_AFTER, quoting what came since, with a link', async () => {
    const { notify, smtp, ada, shop, order } = await start('notify_conversation_mail', '8s')
    const opened = await notify.call('POST', '/conversations', { as: ada, body: { orderId: order.orderId, body: 'First <b>question</b>' } })
    const link = `https://shop.example/conversations/${opened.body.id}`
    await waitFor(() => smtp.received.length >= 1, { what: 'the first mail' })
    const firstMailedAt = Date.now()
    for (const body of ['Second', 'Third']) await notify.call('POST', `/conversations/${opened.body.id}/messages`, { as: ada, body: { body } })
    await settle(1_000)
    expect(smtp.received).toHaveLength(1)
    await waitFor(() => smtp.received.length >= 2, { what: 'the second mail, after the window', timeoutMs: 30_000 })
    expect(Date.now() - firstMailedAt).toBeGreaterThan(7_000)
    await settle(1_500)
    expect(smtp.received).toHaveLength(2)
    const [first, second] = smtp.received
    expect(first.to).toBe(`${shop.id}@example.test`)
    expect(first.subject).toBe(`Ada wrote to you about Order ${order.orderId.slice(0, 8)}`)
    expect(first.text).toContain('> First <b>question</b>')
    expect(first.text).toContain(link)
    expect(first.html).toContain('First &lt;b&gt;question&lt;/b&gt;')
    expect(second.text).toContain('> Second')
    expect(second.text).toContain('> Third')
    expect(second.text).not.toContain('First')
    // The sender is not mailed their own messages.
    expect(smtp.received.map(({ to }) => to)).not.toContain(`${ada.id}@example.test`)
  })

  it('keeps confirming the presence of the users streaming here, and only theirs', async () => {
    const { notify, ada, shop } = await start('notify_presence_refresh', '8s')
    await open(notify.url, { as: shop })
    const presence = () => notify.db('user_presence').where({ userId: shop.id }).first('lastSeenAt')
    await waitFor(presence, { what: 'the shop present' })
    const longAgo = new Date(Date.now() - 60_000)
    await notify.db('user_presence').update({ lastSeenAt: longAgo })
    await notify.db('user_presence').insert({ userId: ada.id, instance: randomUUID(), streaming: true, lastSeenAt: longAgo })
    await notify.app.get('userPresence').refresh()
    expect(new Date((await presence()).lastSeenAt).getTime()).toBeGreaterThan(Date.now() - 10_000)
    expect((await notify.db('user_presence').where({ userId: ada.id }).first('lastSeenAt')).lastSeenAt).toEqual(longAgo)
  })

  it('mails nothing when the message was read before the mail was due, nor to a party with a stream open', async () => {
    const { notify, smtp, ada, shop, order } = await start('notify_conversation_mail_read', '3s')
    const opened = await notify.call('POST', '/conversations', { as: ada, body: { orderId: order.orderId, body: 'Mailed at once' } })
    await waitFor(() => smtp.received.length >= 1, { what: 'the first mail' })
    const next = await notify.call('POST', `/conversations/${opened.body.id}/messages`, { as: ada, body: { body: 'Read in time' } })
    await notify.call('PATCH', `/conversations/${opened.body.id}`, { as: shop, body: { readUpTo: next.body.id } })
    await settle(4_500)
    expect(smtp.received).toHaveLength(1)

    const stream = await open(notify.url, { as: shop })
    await waitFor(() => notify.db('user_presence').first().where({ userId: shop.id, streaming: true }), { what: 'the shop present' })
    const seen = await notify.call('POST', `/conversations/${opened.body.id}/messages`, { as: ada, body: { body: 'Seen live' } })
    await waitFor(() => stream.received.some(({ data }) => data.message?.id === seen.body.id), { what: 'the message live' })
    await settle(4_500)
    expect(smtp.received).toHaveLength(1)
  })
})
