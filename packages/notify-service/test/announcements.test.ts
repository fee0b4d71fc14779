import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMarketmeshClient } from '@marketmesh/client'
import { waitFor } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { purgeEndedAnnouncements } from '../src/services/announcements/purge-ended'
import { admin, buyer, registeredDevice, seller, startNotify, type Notify } from './helpers'
import { streamOpener } from '@marketmesh/test-support/sse'

describe('announcements', () => {
  let notify: Notify
  const { open, closeAll } = streamOpener()
  beforeAll(async () => {
    notify = await startNotify('notify_announce')
  })
  afterAll(async () => {
    closeAll()
    await notify?.close()
  })

  it('only admins announce, with a message and a level', async () => {
    expect((await notify.call('POST', '/announcements', { as: buyer(), body: { message: 'hi', level: 'info' } })).status).toBe(403)
    expect((await notify.call('POST', '/announcements', { body: { message: 'hi', level: 'info' } })).status).toBe(401)
    const bad = await notify.call('POST', '/announcements', { as: admin(), body: { message: 'hi', level: 'loud' } })
    expect(bad.status).toBe(400)
    expect(bad.body.message).toContain('level')
    // Shown on every stream, devices' too: no control or invisible characters (line breaks are taken).
    const forged = await notify.call('POST', '/announcements', { as: admin(), body: { message: 'Maintenance\u001b[2J', level: 'info' } })
    expect(forged.status).toBe(400)
    expect(forged.body.message).toBe('Invalid message: must not contain U+001B (a control character)')
  })

  it('reaches every open stream, buyers, sellers, admins and devices, and a stream opened later gets the current ones', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const open1 = await Promise.all([
      open(notify.url, { as: buyer() }),
      open(notify.url, { as: shop }),
      open(notify.url, { as: admin() }),
      open(notify.url, { token: device.token })
    ])
    const ended = await notify.call('POST', '/announcements', {
      as: admin(),
      body: { message: 'Was maintenance', level: 'info', endsAt: new Date(Date.now() + 300).toISOString() }
    })
    expect(ended.status).toBe(201)
    const created = await notify.call('POST', '/announcements', {
      as: admin(),
      body: { message: 'Maintenance tonight 22:00 UTC', level: 'warning' }
    })
    expect(created.status).toBe(201)
    expect(created.body).toEqual({
      id: expect.any(String),
      message: 'Maintenance tonight 22:00 UTC',
      level: 'warning',
      endsAt: null,
      createdAt: expect.any(String)
    })
    for (const stream of open1) {
      await waitFor(() => stream.received.some(({ data }) => data.id === created.body.id), { what: 'the announcement on every stream' })
      const message = stream.received.find(({ data }) => data.id === created.body.id)!
      expect(message).toEqual({ id: expect.stringMatching(/^\d+$/), type: 'announcement', data: created.body })
    }

    await new Promise((resolve) => setTimeout(resolve, 400))
    const late = await open(notify.url, { as: buyer() })
    await waitFor(() => late.received.length >= 1, { what: 'the current announcement on a late stream' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(late.received).toEqual([{ id: '', type: 'announcement', data: created.body }])

    const listed = await notify.call('GET', '/announcements', { as: buyer() })
    expect(listed.status).toBe(200)
    expect(listed.body.data).toEqual([created.body])
    expect((await notify.call('GET', '/announcements', { headers: { Authorization: `Bearer ${device.token}` } })).body.total).toBe(1)
  })

  it('purges the announcements that have ended and keeps the current ones', async () => {
    const announce = (body: object) => notify.call('POST', '/announcements', { as: admin(), body: { message: 'Purge me?', level: 'info', ...body } })
    const ended = await announce({ endsAt: new Date(Date.now() + 200).toISOString() })
    const later = await announce({ endsAt: new Date(Date.now() + 3_600_000).toISOString() })
    const untilFurtherNotice = await announce({})
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await purgeEndedAnnouncements(notify.db)).toBeGreaterThanOrEqual(1)
    const kept = (await notify.db('announcements').select('id')).map(({ id }: { id: string }) => id)
    expect(kept).not.toContain(ended.body.id)
    expect(kept).toEqual(expect.arrayContaining([later.body.id, untilFurtherNotice.body.id]))
  })

  it('works through @marketmesh/client', async () => {
    const someAdmin = admin()
    const client = createMarketmeshClient({ baseUrl: notify.url, token: accessToken(someAdmin) })
    const created = await client.announcements.create({ message: 'From the client', level: 'critical' })
    expect(created.level).toBe('critical')
    const current = await client.announcements.find({ query: { level: 'critical' } })
    expect(current.data.map(({ id }) => id)).toContain(created.id)
    await waitFor(async () => (await client.notifications.find({ query: { type: 'announcement' } })).total >= 1)
    const log = await client.notifications.find({ query: { type: 'announcement', $limit: 1 } })
    expect(log.data[0]).toMatchObject({ type: 'announcement', data: created })
  })
})
