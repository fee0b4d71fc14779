import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { waitFor } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { createApp } from '../src/app'
import { appendNotification } from '../src/log/append'
import { admin, buyer, orderPaid, orderRef, seller, startNotify, type Notify } from './helpers'
import { receivedAtLeast, streamOpener, type Stream } from '@marketmesh/test-support/sse'

const settle = () => new Promise((resolve) => setTimeout(resolve, 300))

const note = (db: Knex, data: unknown = {}) =>
  db.transaction((trx) => appendNotification(trx, { type: 'test.note', data, audience: { everyone: true } }))

describe('GET /stream', () => {
  let notify: Notify
  const { open, closeAll } = streamOpener()
  beforeAll(async () => {
    notify = await startNotify('notify_stream', { stream: { heartbeat: '1s', retry: '1s', retryJitter: '2s' } })
  })
  afterAll(async () => {
    closeAll()
    await notify?.close()
  })

  it('answers 401 without a valid credential', async () => {
    expect((await fetch(`${notify.url}/stream`)).status).toBe(401)
    expect((await fetch(`${notify.url}/stream?token=nonsense`)).status).toBe(401)
    expect((await fetch(`${notify.url}/stream`, { headers: { Authorization: 'Bearer mmdev_unknown' } })).status).toBe(401)
    const ok = await fetch(`${notify.url}/stream?token=${accessToken(buyer())}`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('content-type')).toMatch(/^text\/event-stream/)
    await ok.body?.cancel()
  })

  it('sends a jittered retry first and comment heartbeats', async () => {
    const response = await fetch(`${notify.url}/stream`, { headers: { Authorization: `Bearer ${accessToken(buyer())}` } })
    const reader = response.body!.getReader()
    let text = ''
    const started = Date.now()
    while (!/\n:\n\n/.test(text) && Date.now() - started < 5_000) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
    const retry = Number(/^retry:(\d+)$/m.exec(text)?.[1])
    expect(retry).toBeGreaterThanOrEqual(1_000)
    expect(retry).toBeLessThan(3_000)
    expect(text).toMatch(/\n:\n\n/)
  })

  it('gives each role exactly its notifications: a buyer their own, a seller their shop’s, an admin all', async () => {
    const ada = buyer()
    const bob = buyer()
    const shop = seller()
    const otherShop = seller()
    const [adaStream, bobStream, shopStream, otherShopStream, adminStream] = await Promise.all(
      [ada, bob, shop, otherShop, admin()].map((as) => open(notify.url, { as }))
    )
    const paid = orderPaid(ada, shop)
    const shipped = orderRef(bob, otherShop)
    await notify.emit('order.paid', paid)
    await notify.emit('order.shipped', shipped)
    await notify.emit('order.created', { ...orderRef(ada, otherShop), checkoutId: paid.checkoutId, lines: paid.lines, total: 1, currency: 'EUR' })
    await receivedAtLeast(adminStream, 4)
    await settle()
    const types = (stream: Stream) => stream.received.map(({ type }) => type).sort()
    expect(types(adaStream)).toEqual(['order.created', 'order.paid'])
    expect(types(bobStream)).toEqual(['order.shipped'])
    // The shop's also the print job of its paid order.
    expect(types(shopStream)).toEqual(['order.paid', 'print.job'])
    expect(types(otherShopStream)).toEqual(['order.created', 'order.shipped'])
    expect(types(adminStream)).toEqual(['order.created', 'order.paid', 'order.shipped', 'print.job'])
    expect(adaStream.received.find(({ type }) => type === 'order.paid')?.data).toEqual(paid)
    // Ids are the log's: increasing on every stream.
    for (const stream of [adaStream, otherShopStream, adminStream]) expect(stream.ids()).toEqual([...stream.ids()].sort((a, b) => a - b))
  })

  it('replays what a client missed after its Last-Event-ID, then goes live, with no gap and no duplicate, while writers commit out of order', async () => {
    const db: Knex = notify.db
    const first = await open(notify.url, { as: admin() })
    const written: number[] = []
    const writers = Array.from({ length: 60 }, (_, i) =>
      db.transaction(async (trx) => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 400))
        written.push(await appendNotification(trx, { type: 'test.note', data: { i }, audience: { everyone: true } }))
        await trx.raw('SELECT pg_sleep(?)', [Math.random() * 0.05])
      })
    )
    await waitFor(() => first.ids().filter((id) => written.includes(id)).length >= 15, { what: 'a first part live' })
    first.close()
    const last = first.ids().at(-1)!
    await new Promise((resolve) => setTimeout(resolve, 100))
    const second = await open(notify.url, { as: admin(), lastEventId: String(last) })
    await Promise.all(writers)
    const later = await note(db)
    await waitFor(() => second.ids().includes(later), { what: 'the live note after the replay' })
    const ids = [...first.ids(), ...second.ids()].filter((id) => written.includes(id))
    expect(ids).toEqual([...written].sort((a, b) => a - b))
    expect(second.ids()[0]).toBeGreaterThan(last)
    expect(new Set(second.ids()).size).toBe(second.ids().length)
  })

  it('accepts ?lastEventId= and ?token= as a browser EventSource sends them', async () => {
    const before = await note(notify.db, { n: 1 })
    const missed = await note(notify.db, { n: 2 })
    const response = await fetch(`${notify.url}/stream?token=${accessToken(buyer())}&lastEventId=${before}`)
    const reader = response.body!.getReader()
    let text = ''
    while (!text.includes(`id:${missed}\n`)) text += new TextDecoder().decode((await reader.read()).value)
    await reader.cancel()
    expect(text).not.toContain(`id:${before}\n`)
    expect(text).toContain(`event:test.note\nid:${missed}\ndata:{"n":2}\n\n`)
  })

  it('tells a client resuming from before the retention to resync', async () => {
    const db: Knex = notify.db
    const old = await note(db)
    await db('notification_horizon').update({ purgedThrough: old + 1 })
    try {
      const stream = await open(notify.url, { as: buyer(), lastEventId: String(old - 1) })
      await receivedAtLeast(stream, 1)
      expect(stream.received[0].type).toBe('resync')
      const live = await note(db)
      await waitFor(() => stream.ids().includes(live), { what: 'live after the resync' })
      expect(stream.received.map(({ type }) => type)).toEqual(['resync', 'test.note'])
    } finally {
      await db('notification_horizon').update({ purgedThrough: 0 })
    }
  })

  it('fans out across instances: clients split across two on one database each get every notification once, in id order', async () => {
    const second: ServiceApplication = createApp(notify.settings)
    const server = await listen(second, 0)
    const secondUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => open(i % 2 ? secondUrl : notify.url, { as: admin() })))
      const written = await Promise.all(Array.from({ length: 30 }, (_, i) => note(notify.db, { i })))
      const expected = [...written].sort((a, b) => a - b)
      for (const client of clients) await waitFor(() => written.every((id) => client.ids().includes(id)), { what: 'every note on every client' })
      await settle()
      for (const client of clients) expect(client.ids().filter((id) => written.includes(id))).toEqual(expected)
    } finally {
      await second.teardown()
      server.close()
    }
  })
})
