import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { streamOpener } from '@marketmesh/test-support/sse'
import { admin, buyer, orderCreated, seller, startNotify, userRegistered, type Notify } from './helpers'

const settle = (ms = 500) => new Promise((resolve) => setTimeout(resolve, ms))

describe('conversations', () => {
  let notify: Notify
  const { open, closeAll } = streamOpener()
  const ada = buyer()
  const bob = buyer()
  const shop = seller()
  const otherShop = seller()
  const someAdmin = admin()
  let order: Awaited<ReturnType<typeof orderCreated>>
  let conversationId: string

  beforeAll(async () => {
    notify = await startNotify('notify_conversations', { stream: { retry: '1s', retryJitter: '1s' } }, [
      'conversation.message.created',
      'conversation.message.hidden'
    ])
    order = await orderCreated(notify, ada, shop)
  })
  afterAll(async () => {
    closeAll()
    await notify?.close()
  })

  it('lets the buyer open one about their own order, reused afterwards, and nobody else see it (404)', async () => {
    const opened = await notify.call('POST', '/conversations', { as: ada, body: { orderId: order.orderId, body: 'Hello,\nwhen does it ship?' } })
    expect(opened.status).toBe(201)
    conversationId = opened.body.id
    expect(opened.body).toMatchObject({
      subject: { type: 'order', id: order.orderId },
      buyer: { id: ada.id },
      seller: { id: shop.sellerId },
      lastMessage: { senderId: ada.id, senderRole: 'buyer', body: 'Hello,\nwhen does it ship?', hidden: false },
      unread: 0
    })
    const again = await notify.call('POST', '/conversations', { as: ada, body: { orderId: order.orderId, body: 'Anyone?' } })
    expect(again.body.id).toBe(conversationId)
    const created = await notify.eventsOf('conversation.message.created', 2, ({ data }) => data.conversationId === conversationId)
    expect(created[0].data).toMatchObject({
      buyerId: ada.id,
      sellerId: shop.sellerId,
      subject: { type: 'order', id: order.orderId },
      senderRole: 'buyer'
    })

    // Someone else's order, another buyer, another shop: as if it did not exist.
    expect((await notify.call('POST', '/conversations', { as: bob, body: { orderId: order.orderId, body: 'Hi' } })).status).toBe(404)
    expect((await notify.call('POST', '/conversations', { as: ada, body: { orderId: randomUUID(), body: 'Hi' } })).status).toBe(404)
    for (const stranger of [bob, otherShop]) {
      expect((await notify.call('GET', `/conversations/${conversationId}`, { as: stranger })).status).toBe(404)
      expect((await notify.call('GET', `/conversations/${conversationId}/messages`, { as: stranger })).status).toBe(404)
      expect((await notify.call('POST', `/conversations/${conversationId}/messages`, { as: stranger, body: { body: 'Hi' } })).status).toBe(404)
      expect((await notify.call('GET', '/conversations', { as: stranger })).body.total).toBe(0)
    }
    // An admin reads, but does not post; a seller does not open one.
    expect((await notify.call('GET', `/conversations/${conversationId}`, { as: someAdmin })).status).toBe(200)
    expect((await notify.call('POST', `/conversations/${conversationId}/messages`, { as: someAdmin, body: { body: 'Hi' } })).status).toBe(403)
    expect((await notify.call('POST', '/conversations', { as: shop, body: { orderId: order.orderId, body: 'Hi' } })).status).toBe(403)

    const listed = await notify.call('GET', `/conversations?orderId=${order.orderId}&unread=true`, { as: shop })
    expect(listed.body.data.map(({ id, unread }: { id: string; unread: number }) => [id, unread])).toEqual([[conversationId, 2]])
    const messages = await notify.call('GET', `/conversations/${conversationId}/messages`, { as: shop })
    expect(messages.body.data.map(({ body }: { body: string }) => body)).toEqual(['Hello,\nwhen does it ship?', 'Anyone?'])
    const after = await notify.call('GET', `/conversations/${conversationId}/messages?after=${messages.body.data[0].id}`, { as: ada })
    expect(after.body.data.map(({ body }: { body: string }) => body)).toEqual(['Anyone?'])
    const read = await notify.call('PATCH', `/conversations/${conversationId}`, { as: shop, body: { readUpTo: messages.body.data[1].id } })
    expect(read.body.unread).toBe(0)
    expect((await notify.call('GET', '/conversations?unread=true', { as: shop })).body.total).toBe(0)
  })

  it('opens one about a product that exists, with its title', async () => {
    const productId = randomUUID()
    const product = { productId, sellerId: otherShop.sellerId!, title: 'Walnut shelf', price: 9_900, currency: 'EUR', status: 'active' as const }
    expect((await notify.call('POST', '/conversations', { as: bob, body: { productId, body: 'Is it solid wood?' } })).status).toBe(404)
    await notify.emit('product.created', { ...product, version: 1 })
    await notify.emit('product.updated', { ...product, version: 3, title: 'Walnut wall shelf' })
    await notify.emit('product.updated', { ...product, version: 2, title: 'Stale title' })
    await waitFor(() => notify.db('conversation_products').first().where({ productId, version: 3 }), { what: 'the product at version 3' })
    const opened = await notify.call('POST', '/conversations', { as: bob, body: { productId, body: 'Is it solid wood?' } })
    expect(opened.status).toBe(201)
    expect(opened.body).toMatchObject({ subject: { type: 'product', id: productId, title: 'Walnut wall shelf' }, seller: { id: otherShop.sellerId } })
    const answered = await notify.call('POST', `/conversations/${opened.body.id}/messages`, { as: otherShop, body: { body: 'Yes, it is.' } })
    expect(answered.status).toBe(201)
    expect(answered.body).toMatchObject({ senderRole: 'seller', senderId: otherShop.sellerId })

    // A deleted product takes no new conversation (a late update does not bring it back); the one there is stays.
    await notify.emit('product.deleted', { productId, sellerId: otherShop.sellerId!, version: 4 })
    await notify.emit('product.updated', { ...product, version: 3 })
    await waitFor(() => notify.db('conversation_products').first().where({ productId, deleted: true }), { what: 'the product deleted' })
    await settle()
    expect((await notify.call('POST', '/conversations', { as: ada, body: { productId, body: 'Still for sale?' } })).status).toBe(404)
    expect((await notify.call('GET', `/conversations/${opened.body.id}`, { as: bob })).status).toBe(200)
  })

  it('refuses bodies that are empty, too long or hold control characters other than line breaks, naming the field', async () => {
    for (const body of ['', 'x'.repeat(4001), 'bell\u0007', 'Oak\u001bp022', 'tab\tbed', 'right\u202eleft']) {
      const answer = await notify.call('POST', `/conversations/${conversationId}/messages`, { as: ada, body: { body } })
      expect(answer.status, JSON.stringify(body)).toBe(400)
      expect(JSON.stringify(answer.body)).toContain('body')
    }
    expect((await notify.call('POST', '/conversations', { as: ada, body: { body: 'Hi' } })).status).toBe(400)
    expect(
      (await notify.call('POST', '/conversations', { as: ada, body: { orderId: order.orderId, productId: randomUUID(), body: 'Hi' } })).status
    ).toBe(400)
    expect((await notify.call('GET', '/conversations/not-a-uuid/messages', { as: ada })).status).toBe(400)
    expect((await notify.call('POST', `/conversations/${conversationId}/messages`, { as: ada, body: { body: 'x'.repeat(4000) } })).status).toBe(201)
  })

  it('delivers each message live to the other party and the sender’s other streams, and replays what a reconnect missed, once each', async () => {
    const shopStream = await open(notify.url, { as: shop })
    const adaOther = await open(notify.url, { as: ada })
    const bobStream = await open(notify.url, { as: bob })
    const sent = await notify.call('POST', `/conversations/${conversationId}/messages`, { as: ada, body: { body: 'Live one' } })
    for (const stream of [shopStream, adaOther]) {
      await waitFor(() => stream.received.some(({ type, data }) => type === 'message' && data.message.id === sent.body.id), {
        what: 'the message live'
      })
    }
    // The earlier tests' messages may still be on their way to the streams: pick this one.
    const live = shopStream.received.find(({ type, data }) => type === 'message' && data.message.id === sent.body.id)!
    expect(live.data).toEqual({ conversationId, message: sent.body })
    shopStream.close()
    const missed = []
    for (const body of ['Missed one', 'Missed two'])
      missed.push((await notify.call('POST', `/conversations/${conversationId}/messages`, { as: ada, body: { body } })).body.id)
    const again = await open(notify.url, { as: shop, lastEventId: live.id })
    const later = await notify.call('POST', `/conversations/${conversationId}/messages`, { as: ada, body: { body: 'After' } })
    await waitFor(() => again.received.some(({ data }) => data.message?.id === later.body.id), { what: 'live after the replay' })
    expect(again.received.filter(({ type }) => type === 'message').map(({ data }) => data.message.id)).toEqual([...missed, later.body.id])
    await settle()
    expect(bobStream.received.filter(({ type }) => type === 'message')).toEqual([])
  })

  it('shows the names of the newest user.updated, and keeps a disabled party’s conversation readable but closed (409)', async () => {
    await notify.emit('user.registered', userRegistered(ada, { name: 'Ada' }))
    await notify.emit('user.registered', userRegistered(shop, { shopName: 'Oak & Iron' }))
    await notify.emit('user.updated', userRegistered(ada, { version: 3, name: 'Ada Lovelace' }))
    await notify.emit('user.updated', userRegistered(ada, { version: 2, name: 'Ada Stale' }))
    await notify.emit('user.updated', userRegistered(shop, { version: 2, shopName: 'Oak & Iron Works' }))
    await waitFor(
      async () => {
        const { body } = await notify.call('GET', `/conversations/${conversationId}`, { as: ada })
        return body.buyer.name === 'Ada Lovelace' && body.seller.shopName === 'Oak & Iron Works'
      },
      { what: 'the current names' }
    )
    await settle()
    expect((await notify.call('GET', `/conversations/${conversationId}`, { as: shop })).body.buyer.name).toBe('Ada Lovelace')

    await notify.emit('user.updated', userRegistered(ada, { version: 4, name: 'Ada Lovelace', status: 'disabled' }))
    await waitFor(() => notify.db('users').first().where({ id: ada.id, status: 'disabled' }), { what: 'Ada disabled' })
    expect((await notify.call('POST', `/conversations/${conversationId}/messages`, { as: shop, body: { body: 'Still there?' } })).status).toBe(409)
    expect((await notify.call('GET', `/conversations/${conversationId}/messages`, { as: shop })).status).toBe(200)
    expect((await notify.call('POST', `/conversations/${conversationId}/messages`, { as: ada, body: { body: 'Me again' } })).status).toBe(409)
  })

  it('shows a message an admin hid as removed to both parties, live and on replay, and tells the bus', async () => {
    const carol = buyer()
    const { orderId } = await orderCreated(notify, carol, shop)
    const opened = await notify.call('POST', '/conversations', { as: carol, body: { orderId, body: 'Rude words' } })
    const message = opened.body.lastMessage
    const shopStream = await open(notify.url, { as: shop })
    expect(
      (await notify.call('PATCH', `/conversations/${opened.body.id}/messages/${message.id}`, { as: shop, body: { hidden: true, reason: 'x' } }))
        .status
    ).toBe(403)
    const hidden = await notify.call('PATCH', `/conversations/${opened.body.id}/messages/${message.id}`, {
      as: someAdmin,
      body: { hidden: true, reason: 'Insults' }
    })
    expect(hidden.status).toBe(200)
    expect(hidden.body).toMatchObject({ id: message.id, hidden: true, body: 'Rude words' })
    await waitFor(() => shopStream.received.some(({ type, data }) => type === 'message' && data.message.hidden), { what: 'the hidden message live' })
    for (const party of [carol, shop]) {
      const { body } = await notify.call('GET', `/conversations/${opened.body.id}/messages`, { as: party })
      expect(body.data).toEqual([{ ...message, hidden: true, body: '' }])
    }
    // A stream replaying from before it no longer carries its text.
    const replay = await open(notify.url, { as: carol, lastEventId: '0' })
    await waitFor(() => replay.received.filter(({ type }) => type === 'message').length >= 2, { what: 'the replay' })
    expect(JSON.stringify(replay.received)).not.toContain('Rude words')
    const [event] = await notify.eventsOf('conversation.message.hidden', 1, ({ data }) => data.messageId === message.id)
    expect(event.data).toMatchObject({ conversationId: opened.body.id, hiddenBy: someAdmin.id, reason: 'Insults' })
  })

  it('lets a user post 30 messages a minute, then answers 429 with Retry-After', async () => {
    const dan = buyer()
    const { orderId } = await orderCreated(notify, dan, shop)
    const opened = await notify.call('POST', '/conversations', { as: dan, body: { orderId, body: 'One' } })
    const posts = await Promise.all(
      Array.from({ length: 31 }, (_, i) => notify.call('POST', `/conversations/${opened.body.id}/messages`, { as: dan, body: { body: `More ${i}` } }))
    )
    expect(posts.filter(({ status }) => status === 201)).toHaveLength(29)
    const refused = posts.filter(({ status }) => status === 429)
    expect(refused).toHaveLength(2)
    for (const { headers } of refused) expect(Number(headers.get('retry-after'))).toBeGreaterThan(0)
    expect(Number(refused[0].headers.get('retry-after'))).toBeLessThanOrEqual(60)
    expect(Number((await notify.db('conversation_messages').where({ senderId: dan.id }).count({ n: '*' }).first())?.n)).toBe(30)
  })

  it('answered everything above as notify-service’s OpenAPI document says', async () => {
    expect(await notify.undocumentedAnswers()).toEqual([])
    expect(notify.answerCount()).toBeGreaterThan(30)
  })
})
