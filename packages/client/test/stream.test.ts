import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { metricValue, waitFor } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { createApp } from '@marketmesh/notify-service'
import { orderPaid, userRegistered } from '@marketmesh/test-support/events'
import { buyer, seller, startServiceUnderTest, type ServiceUnderTest } from '@marketmesh/test-support/service-under-test'
import { createMarketmeshClient, type StreamEvent } from '../src'

describe('mm.stream() on notify-service', () => {
  let notify: ServiceUnderTest
  const customer = buyer()
  const shop = seller()
  beforeAll(async () => {
    notify = await startServiceUnderTest({ label: 'client_stream', createApp, watched: [] })
    // Known users: the confirmation mails of the orders below have their addresses.
    for (const user of [customer, shop]) await notify.emit('user.registered', userRegistered(user))
  })
  afterAll(() => notify?.close())

  const paidOrders = (events: StreamEvent[]) => events.flatMap((event) => (event.type === 'order.paid' ? [event.data.orderId] : []))

  it('resumes after the last id it got: what came meanwhile once, nothing twice', async () => {
    const mm = createMarketmeshClient({ baseUrl: notify.url, token: accessToken(customer) })
    const first = orderPaid(customer, shop)
    await notify.emit('order.paid', first)
    const before: StreamEvent[] = []
    const opened = mm.stream({ lastEventId: 0, onEvent: (event) => before.push(event) })
    await waitFor(() => paidOrders(before).includes(first.orderId), { what: 'the first order on the stream' })
    opened.close()

    const later = [orderPaid(customer, shop), orderPaid(customer, shop)]
    for (const data of later) await notify.emit('order.paid', data)
    const after: StreamEvent[] = []
    const resumed = mm.stream({ lastEventId: opened.lastEventId, onEvent: (event) => after.push(event) })
    await waitFor(() => paidOrders(after).length >= 2, { what: 'the later orders on the resumed stream' })
    resumed.close()

    // Exactly the two that came meanwhile (in the order notify-service handled them), not the first again.
    expect(paidOrders(after).sort()).toEqual(later.map((data) => data.orderId).sort())
    const ids = after.flatMap((event) => (event.id === undefined ? [] : [event.id]))
    expect(ids[0]).toBeGreaterThan(Number(opened.lastEventId))
    expect(resumed.lastEventId).toBe(String(ids.at(-1)))
  })

  it("works with a browser's EventSource, which sends no headers: the token goes as ?token=", async () => {
    const mm = createMarketmeshClient({ baseUrl: notify.url, token: accessToken(customer) })
    const paid = orderPaid(customer, shop)
    await notify.emit('order.paid', paid)
    const events: StreamEvent[] = []
    // The eventsource package without a fetch of its own sends what a browser's EventSource sends.
    const stream = mm.stream({ lastEventId: 0, onEvent: (event) => events.push(event), EventSource })
    await waitFor(() => paidOrders(events).includes(paid.orderId), { what: 'the order on the stream' })
    stream.close()
    const received = events.find((event) => event.type === 'order.paid' && event.data.orderId === paid.orderId)
    expect(received).toMatchObject({ type: 'order.paid', data: { total: paid.total, lines: paid.lines } })
  })

  it('closes when its signal is aborted: notify-service sees the connection go', async () => {
    const mm = createMarketmeshClient({ baseUrl: notify.url, token: accessToken(customer) })
    const openStreams = () => metricValue(notify.app.get('metrics'), 'sse_connections', { kind: 'buyer' })
    await waitFor(async () => (await openStreams()) === 0, { what: 'the other tests’ streams gone' })
    const aborting = new AbortController()
    let opened = 0
    mm.stream({ onEvent: () => {}, onOpen: () => opened++, signal: aborting.signal })
    await waitFor(() => opened === 1, { what: 'the stream open' })
    expect(await openStreams()).toBe(1)
    aborting.abort()
    await waitFor(async () => (await openStreams()) === 0, { what: 'notify-service to see the stream closed' })
  })
})
