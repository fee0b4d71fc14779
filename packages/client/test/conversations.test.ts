import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { admin, buyer, orderCreated, seller, startNotify, type Notify } from '../../notify-service/test/helpers'
import { createMarketmeshClient, type StreamEvent } from '../src'

describe('mm.conversations on notify-service', () => {
  let notify: Notify
  const customer = buyer()
  const shop = seller()
  beforeAll(async () => {
    notify = await startNotify('client_conversations')
  })
  afterAll(() => notify?.close())

  it('opens a conversation, answers it, sees the answer as `message` on stream(), marks it read and hides a message as an admin', async () => {
    const { orderId } = await orderCreated(notify, customer, shop)
    const asBuyer = createMarketmeshClient({ baseUrl: notify.url, token: accessToken(customer) })
    const asShop = createMarketmeshClient({ baseUrl: notify.url, token: accessToken(shop) })
    const asAdmin = createMarketmeshClient({ baseUrl: notify.url, token: accessToken(admin()) })
    const events: StreamEvent[] = []
    const stream = asBuyer.stream({ onEvent: (event) => events.push(event) })

    const conversation = await asBuyer.conversations.create({ orderId, body: 'When does it ship?' })
    expect(conversation.subject).toMatchObject({ type: 'order', id: orderId })
    const [listed] = (await asShop.conversations.find({ query: { orderId, unread: true } })).data
    expect(listed).toMatchObject({ id: conversation.id, unread: 1 })
    const answer = await asShop.conversations.messages.create(conversation.id, { body: 'Tomorrow.' })
    await waitFor(() => events.some((event) => event.type === 'message' && event.data.message.id === answer.id), { what: 'the answer live' })
    stream.close()

    const read = await asBuyer.conversations.patch(conversation.id, { readUpTo: answer.id })
    expect(read.unread).toBe(0)
    const { data } = await asBuyer.conversations.messages.find(conversation.id, { query: { after: conversation.lastMessage!.id } })
    expect(data.map(({ body }) => body)).toEqual(['Tomorrow.'])
    const hidden = await asAdmin.conversations.messages.hide(conversation.id, answer.id, 'Test')
    expect(hidden.hidden).toBe(true)
    expect((await asBuyer.conversations.messages.find(conversation.id)).data[1]).toMatchObject({ id: answer.id, hidden: true, body: '' })
  })
})
