import http from 'node:http'
import { randomUUID } from 'node:crypto'
import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Knex } from '@marketmesh/shared'
import { metricValue, waitFor } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { appendNotifications } from '../src/log/append'
import { asDevice, buyer, orderPaid, printJobOf, registeredDevice, seller, startNotify, userRegistered, type Notify } from './helpers'
import { streamOpener, type Stream } from '@marketmesh/test-support/sse'

const closedForGood = (stream: Stream) =>
  waitFor(() => stream.source.readyState === EventSource.CLOSED, { what: 'the stream closed and refused again' })

/** The next stream's authentication (the read of its credential) done, it waits for `release`. */
const holdNextAuthentication = (notify: Notify) => {
  const service = notify.app.service('authentication')
  const authenticate = service.authenticate
  let held = false
  let release = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  service.authenticate = async (...args: Parameters<typeof authenticate>) => {
    service.authenticate = authenticate
    const result = await authenticate.apply(service, args)
    held = true
    await released
    return result
  }
  return { isHeld: () => held, release }
}

/** Opens a device stream with a plain HTTP request, to see its answer and whether its connection ends. */
const openedPastCredential = (notify: Notify, token: string) => {
  let closed = false
  const response = new Promise<http.IncomingMessage>((resolve) =>
    http.get(`${notify.url}/stream`, { headers: { Authorization: `Bearer ${token}` } }, (answer) => {
      answer.socket.once('close', () => (closed = true))
      answer.resume()
      resolve(answer)
    })
  )
  return { response, closed: () => closed }
}

/** Waits until the log holds the `user.*` notification of `userId` at `version`: its event was handled. */
const logHoldsUserEvent = (notify: Notify, userId: string, version: number) =>
  waitFor(
    async () => {
      const { body } = await notify.call('GET', '/notifications?type=user.updated&$limit=50', { as: { id: randomUUID(), role: 'admin' } })
      return body.data.some(({ data }: { data: { userId: string; version: number } }) => data.userId === userId && data.version === version)
    },
    { what: `user.updated version ${version} handled` }
  )

describe('who may stay connected', () => {
  let notify: Notify
  const { open, closeAll } = streamOpener()
  beforeAll(async () => {
    notify = await startNotify('notify_access', { stream: { retry: '1s', retryJitter: '1s', maxBufferedBytes: 1_048_576 } })
  })
  afterAll(async () => {
    closeAll()
    await notify?.close()
  })

  it('gives a device its shop’s print jobs and announcements but none of its order notifications, and disconnects it when it is revoked', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const stream = await open(notify.url, { token: device.token })
    const shopStream = await open(notify.url, { as: shop })
    await notify.emit('order.paid', orderPaid(buyer(), shop))
    await waitFor(() => shopStream.received.length >= 1, { what: 'the order on the shop’s stream' })
    await notify.call('POST', '/announcements', {
      as: { id: randomUUID(), role: 'admin' },
      body: { message: 'Printers: new firmware', level: 'info' }
    })
    await waitFor(() => stream.received.some(({ type }) => type === 'announcement'), { what: 'the announcement on the device stream' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(stream.received.map(({ type }) => type)).toEqual(['print.job', 'announcement'])

    await notify.emit('device.revoked', { deviceId: device.deviceId, sellerId: shop.sellerId! })
    await closedForGood(stream)
    expect(stream.opened).toBe(1)
    expect((await fetch(`${notify.url}/stream`, { headers: { Authorization: `Bearer ${device.token}` } })).status).toBe(401)
  })

  it('ends a device stream whose credential was read just before the revocation committed, once it is opened', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const first = await open(notify.url, { token: device.token })
    const authentication = holdNextAuthentication(notify)
    const opened = openedPastCredential(notify, device.token)
    await waitFor(authentication.isHeld, { what: 'the second stream past the read of its credential' })
    await notify.emit('device.revoked', { deviceId: device.deviceId, sellerId: shop.sellerId! })
    // The revocation has reached this instance's streams: the first one ended.
    await closedForGood(first)
    authentication.release()
    expect((await opened.response).statusCode).toBe(200)
    await waitFor(opened.closed, { what: 'the stream opened across the revocation ended' })
  })

  it('disconnects a user who is disabled and refuses them afterwards, although their token is still valid', async () => {
    const ada = buyer()
    await notify.emit('user.registered', userRegistered(ada))
    await waitFor(() => notify.db('users').first('id').where({ id: ada.id }), { what: 'the user in the read model' })
    const stream = await open(notify.url, { as: ada })
    const other = await open(notify.url, { as: buyer() })
    await notify.emit('user.updated', userRegistered(ada, { version: 2, status: 'disabled' }))
    await closedForGood(stream)
    expect((await fetch(`${notify.url}/stream`, { headers: { Authorization: `Bearer ${accessToken(ada)}` } })).status).toBe(401)
    expect(other.source.readyState).toBe(EventSource.OPEN)
  })

  it('refuses a disabled seller’s devices on /stream and /print-jobs and ends their streams; re-enabled, lets them in again', async () => {
    const shop = seller()
    await notify.emit('user.registered', userRegistered(shop))
    const device = await registeredDevice(notify, shop)
    const otherDevice = await registeredDevice(notify, seller())
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)
    const stream = await open(notify.url, { token: device.token })
    const otherStream = await open(notify.url, { token: otherDevice.token })
    const streamStatus = async () => (await fetch(`${notify.url}/stream`, { headers: { Authorization: `Bearer ${device.token}` } })).status

    await notify.emit('user.updated', userRegistered(shop, { version: 3, status: 'disabled' }))
    await closedForGood(stream)
    expect(stream.opened).toBe(1)
    expect(await streamStatus()).toBe(401)
    const refused = await notify.call('GET', '/print-jobs', asDevice(device))
    expect(refused.status).toBe(401)
    expect(refused.body.message).toContain('disabled')
    expect((await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printing' } })).status).toBe(401)
    expect(otherStream.source.readyState).toBe(EventSource.OPEN)

    // An older event arriving late (version 2, active) does not let the devices back in.
    await notify.emit('user.updated', userRegistered(shop, { version: 2, status: 'active' }))
    await logHoldsUserEvent(notify, shop.id, 2)
    expect((await notify.call('GET', '/print-jobs', asDevice(device))).status).toBe(401)

    await notify.emit('user.updated', userRegistered(shop, { version: 4, status: 'active' }))
    await waitFor(async () => (await notify.call('GET', '/print-jobs', asDevice(device))).status === 200, { what: 'the device let in again' })
    expect((await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printing' } })).status).toBe(200)
    const again = await open(notify.url, { token: device.token })
    expect(again.source.readyState).toBe(EventSource.OPEN)
  })

  it('ends a device stream whose credential was read just before its seller’s disabling committed, once it is opened', async () => {
    const shop = seller()
    await notify.emit('user.registered', userRegistered(shop))
    const device = await registeredDevice(notify, shop)
    const authentication = holdNextAuthentication(notify)
    const opened = openedPastCredential(notify, device.token)
    await waitFor(authentication.isHeld, { what: 'the stream past the read of its credential' })
    await notify.emit('user.updated', userRegistered(shop, { version: 2, status: 'disabled' }))
    await waitFor(async () => (await notify.call('GET', '/print-jobs', asDevice(device))).status === 401, { what: 'the seller disabled' })
    authentication.release()
    expect((await opened.response).statusCode).toBe(200)
    await waitFor(opened.closed, { what: 'the stream opened across the disabling ended' })
  })

  it('ends a stream when its access token expires', async () => {
    const ada = buyer()
    const expiresAt = Date.now() + 2_000
    const token = accessToken(ada, { lifetimeSeconds: 2 })
    const stream = await open(notify.url, { token })
    expect(stream.source.readyState).toBe(EventSource.OPEN)
    await closedForGood(stream)
    // Ended by its expiry (to the second the token carries), not before.
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 1_000)
  })

  it('disconnects a client that stops reading, while the others keep receiving; gauges count connections, buffered bytes and evictions', async () => {
    const db: Knex = notify.db
    const fast = await open(notify.url, { as: buyer() })
    let slowClosed = false
    const slow = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(`${notify.url}/stream`, { headers: { Authorization: `Bearer ${accessToken(buyer())}` } }, (response) => {
        response.pause()
        response.socket.on('close', () => (slowClosed = true))
        resolve(response)
      })
    )
    expect(slow.statusCode).toBe(200)
    const metrics = notify.app.get('metrics')
    expect(await metricValue(metrics, 'sse_connections', { kind: 'buyer' })).toBeGreaterThanOrEqual(2)

    // 20 MB in 10,000 notifications of a receipt's size, in one burst: far more than the socket
    // buffers and the bound take.
    const receipt = 'x'.repeat(2_000)
    const burst = await db.transaction(async (trx) => {
      const ids: number[] = []
      for (let chunk = 0; chunk < 10; chunk++) {
        const notes = Array.from({ length: 1_000 }, (_, i) => ({ type: 'test.note', data: { i, receipt }, audience: { everyone: true } }))
        ids.push(...(await appendNotifications(trx, notes)))
      }
      return ids
    })
    await waitFor(async () => (await metricValue(metrics, 'sse_evictions_total')) >= 1, { what: 'the slow client cut off' })
    expect(await metricValue(metrics, 'sse_evictions_total')).toBe(1)
    await waitFor(() => fast.ids().includes(burst.at(-1)!), { what: 'the burst on the fast client' })
    expect(fast.ids().filter((id) => burst.includes(id))).toEqual(burst)
    // Once it reads again, it finds its connection closed (it would reconnect and replay).
    slow.resume()
    await waitFor(() => slowClosed, { what: 'the slow client’s connection closed' })

    const [ping] = await db.transaction((trx) =>
      appendNotifications(trx, [{ type: 'test.note', data: { ping: true }, audience: { everyone: true } }])
    )
    await waitFor(() => fast.ids().includes(ping), { what: 'the ping after the burst' })
    expect(await metricValue(metrics, 'sse_buffered_bytes')).toBeLessThan(1_048_576)
    const text = await (await fetch(`${notify.opsUrl}/metrics`)).text()
    expect(text).toMatch(/sse_connections\{[^}]*kind="buyer"[^}]*\} \d+/)
    expect(text).toMatch(/sse_evictions_total\{[^}]*\} 1/)
    expect(text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/stream"[^}]*\} \d+/)
    expect(text).not.toMatch(/route="unmatched"/)
  })
})

describe('how many streams one may hold open', () => {
  let notify: Notify
  const held: http.IncomingMessage[] = []
  beforeAll(async () => {
    notify = await startNotify('notify_stream_limits', { stream: { maxPerCaller: 10, maxPerAddress: 15 } })
  })
  afterAll(async () => {
    for (const response of held) response.destroy()
    await notify?.close()
  })

  /** A raw `GET /stream`: a 200 is held open (until destroyed), anything else read to its end. */
  const request = (token: string) =>
    new Promise<{ status: number; retryAfter?: string; response: http.IncomingMessage; body: () => Promise<any> }>((resolve, reject) =>
      http
        .get(`${notify.url}/stream`, { headers: { Authorization: `Bearer ${token}` } }, (response) => {
          if (response.statusCode === 200) held.push(response)
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          const ended = new Promise((done) => response.once('end', done))
          resolve({
            status: response.statusCode!,
            retryAfter: response.headers['retry-after'],
            response,
            body: async () => (await ended, JSON.parse(Buffer.concat(chunks).toString('utf8')))
          })
        })
        .on('error', reject)
    )

  it('refuses the 11th stream of a caller, and one past the address’s limit, with 429 and Retry-After; closing one frees its slot', async () => {
    const ada = accessToken(buyer())
    const first = await Promise.all(Array.from({ length: 10 }, () => request(ada)))
    expect(first.map(({ status }) => status)).toEqual(Array(10).fill(200))
    const eleventh = await request(ada)
    expect(eleventh.status).toBe(429)
    expect(Number(eleventh.retryAfter)).toBeGreaterThan(0)
    expect(await eleventh.body()).toMatchObject({ name: 'TooManyRequests', message: 'Too many open streams for this caller (10); close one first' })

    // Another caller from the same address: 5 more fill the address's 15.
    const bob = accessToken(buyer())
    expect((await Promise.all(Array.from({ length: 5 }, () => request(bob)))).map(({ status }) => status)).toEqual(Array(5).fill(200))
    const pastAddress = await request(accessToken(buyer()))
    expect(pastAddress.status).toBe(429)
    expect(Number(pastAddress.retryAfter)).toBeGreaterThan(0)
    expect(await pastAddress.body()).toMatchObject({ message: 'Too many open streams from this address (15); close one first' })

    // One of Ada's ends: her next stream is taken again.
    first[0].response.destroy()
    const again = await waitFor(
      async () => {
        const attempt = await request(ada)
        return attempt.status === 200 ? attempt : undefined
      },
      { what: 'a slot freed by the closed stream' }
    )
    expect(again.status).toBe(200)
    expect((await request(ada)).status).toBe(429)
    const metrics = notify.app.get('metrics')
    expect(await metricValue(metrics, 'sse_refused_total', { limit: 'address' })).toBe(1)
    expect(await metricValue(metrics, 'sse_refused_total', { limit: 'caller' })).toBeGreaterThanOrEqual(2)
  })
})
