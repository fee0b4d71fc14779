import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Knex } from '@marketmesh/shared'
import { appendNotification } from '../src/log/append'
import { purgeNotifications } from '../src/log/purge'
import { admin, buyer, logHolds, orderPaid, orderRef, seller, startNotify, userRegistered, type Notify } from './helpers'

describe('notification log', () => {
  let notify: Notify
  beforeAll(async () => {
    notify = await startNotify('notify_log')
  })
  afterAll(async () => {
    await notify?.close()
  })

  it('stores each consumed event once for its audience: a buyer sees their own, a seller their shop’s, an admin all', async () => {
    const ada = buyer()
    const bob = buyer()
    const shop = seller()
    const otherShop = seller()
    const paid = orderPaid(ada, shop)
    await notify.emit('user.registered', userRegistered(ada))
    await notify.emit('order.paid', paid)
    await notify.emit('order.shipped', orderRef(bob, otherShop))
    await notify.emit('user.registered', userRegistered(shop))
    // The paid order also queues a print job for the shop (print.job).
    await logHolds(notify, 5)

    const typesFor = async (who: ReturnType<typeof buyer>) => {
      const { status, body } = await notify.call('GET', '/notifications', { as: who })
      expect(status).toBe(200)
      // Events arrive in any order: the log's order is the order they were consumed in.
      return body.data.map((n: { type: string }) => n.type).sort()
    }
    expect(await typesFor(ada)).toEqual(['order.paid', 'user.registered'])
    expect(await typesFor(bob)).toEqual(['order.shipped'])
    expect(await typesFor(shop)).toEqual(['order.paid', 'print.job', 'user.registered'])
    expect(await typesFor(otherShop)).toEqual(['order.shipped'])
    expect(await typesFor(admin())).toEqual(['order.paid', 'order.shipped', 'print.job', 'user.registered', 'user.registered'])

    const { body } = await notify.call('GET', '/notifications', { as: ada })
    const [newest, older] = body.data
    expect(newest.id).toBeGreaterThan(older.id)
    expect(body.data.find((n: { type: string }) => n.type === 'order.paid')).toEqual({
      id: expect.any(Number),
      type: 'order.paid',
      data: paid,
      createdAt: expect.any(String)
    })
    const after = await notify.call('GET', `/notifications?id[$gt]=${older.id}&$sort[id]=1`, { as: ada })
    expect(after.body.data.map((n: { id: number }) => n.id)).toEqual([newest.id])
    expect((await notify.call('GET', '/notifications')).status).toBe(401)
  })

  it('lets a reader that reads past the last id it saw miss none, while transactions commit out of order', async () => {
    const db: Knex = notify.db
    const seen: number[] = []
    const readOn = async () => {
      const rows: Array<{ id: string }> = await db('notifications')
        .where('id', '>', seen.at(-1) ?? 0)
        .where({ type: 'concurrency.test' })
        .orderBy('id')
        .select('id')
      seen.push(...rows.map(({ id }) => Number(id)))
    }
    let writing = true
    const reader = (async () => {
      while (writing) {
        await readOn()
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
      await readOn()
    })()
    // 40 writers; each holds its transaction open a random while after appending, so an id drawn
    // first would commit last if nothing ordered them.
    const written = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        db.transaction(async (trx) => {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20))
          const id = await appendNotification(trx, { type: 'concurrency.test', data: { i }, audience: { everyone: true } })
          await trx.raw('SELECT pg_sleep(?)', [Math.random() * 0.03])
          return id
        })
      )
    )
    writing = false
    await reader
    expect(seen).toEqual([...written].sort((a, b) => a - b))
  })

  it('purges what is older than the retention and remembers up to where', async () => {
    const db: Knex = notify.db
    const old = await db.transaction((trx) => appendNotification(trx, { type: 'old', data: {}, audience: { everyone: true } }))
    await db('notifications')
      .where({ id: old })
      .update({ createdAt: db.raw("now() - interval '8 days'") })
    const kept = await db.transaction((trx) => appendNotification(trx, { type: 'new', data: {}, audience: { everyone: true } }))
    expect(await purgeNotifications(db, 7 * 86_400_000)).toBeGreaterThanOrEqual(1)
    expect(await db('notifications').where({ id: old }).first()).toBeUndefined()
    expect(await db('notifications').where({ id: kept }).first()).toBeDefined()
    const { purgedThrough } = await db('notification_horizon').first()
    expect(Number(purgedThrough)).toBeGreaterThanOrEqual(old)
    expect(Number(purgedThrough)).toBeLessThan(kept)
  })
})
