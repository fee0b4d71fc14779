import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Principal } from '@marketmesh/shared'
import { renderReceipt, renderReceiptText } from '@marketmesh/receipts'
import { waitFor } from '@marketmesh/test-support'
import {
  buyer,
  holdsControlCharacters,
  hostileText,
  orderPaid,
  printJobOf,
  registeredDevice,
  seller,
  startNotify,
  userRegistered,
  type Notify
} from './helpers'

type Device = Awaited<ReturnType<typeof registeredDevice>>

const MAC = '00:11:62:1d:9a:b7'

/** The answer to a poll: a job to fetch or none, or the error that refused the poll. */
interface PollAnswer {
  jobReady?: boolean
  jobToken?: string
  mediaTypes?: string[]
  message?: string
}

/** A Star printer's requests, as its CloudPRNT client sends them: HTTP Basic with the device id and token. */
const printer = (notify: Notify, device: Device) => {
  const authorization = `Basic ${Buffer.from(`${device.deviceId}:${device.token}`).toString('base64')}`
  const request = (method: string, query = '', body?: unknown) =>
    fetch(`${notify.url}/cloudprnt${query}`, {
      method,
      headers: { Authorization: authorization, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
  return {
    poll: async (status: { statusCode?: string; printingInProgress?: boolean } = {}) => {
      const response = await request('POST', '', {
        status: '23 86 00 00 00 00 00 00 00',
        printerMAC: MAC,
        statusCode: '200%20OK',
        printingInProgress: false,
        ...status
      })
      return { status: response.status, body: (await response.json()) as PollAnswer }
    },
    fetchJob: (type: string, token: string) => request('GET', `?uid=&type=${encodeURIComponent(type)}&mac=${encodeURIComponent(MAC)}&token=${token}`),
    confirm: (code: string, token: string) => request('DELETE', `?mac=${encodeURIComponent(MAC)}&code=${encodeURIComponent(code)}&token=${token}`)
  }
}

describe('Star CloudPRNT at /cloudprnt', () => {
  let notify: Notify
  beforeAll(async () => {
    notify = await startNotify('notify_cloudprnt', { printing: { confirmTimeout: '2s', onlineWindow: '1m', cloudprntColumns: 42 } })
  })
  afterAll(async () => {
    await notify?.close()
  })

  const paidJob = async (shop: Principal, overrides?: Parameters<typeof orderPaid>[2]) => {
    const paid = orderPaid(buyer(), shop, overrides)
    await notify.emit('order.paid', paid)
    return printJobOf(notify, shop, paid.orderId)
  }

  it('hands out no job whose order is cancelled, even while it is still queued', async () => {
    const shop = seller()
    const star = printer(notify, await registeredDevice(notify, shop))
    const job = await paidJob(shop)
    await notify.db('tombstones').insert({ aggregate: 'order', aggregate_id: job.orderId, reason: 'order.cancelled' })
    expect(await star.poll()).toEqual({ status: 200, body: { jobReady: false } })
    expect((await notify.db('print_jobs').first('status').where({ id: job.id })).status).toBe('queued')
  })

  it('prints a paid order as a printer does it: poll, GET (twice, changing nothing), DELETE OK; the job is not offered again', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const star = printer(notify, device)
    expect(await star.poll()).toEqual({ status: 200, body: { jobReady: false } })

    const job = await paidJob(shop)
    const polled = await star.poll()
    expect(polled).toEqual({
      status: 200,
      body: { jobReady: true, mediaTypes: ['application/vnd.star.starprnt', 'text/plain'], jobToken: job.id }
    })
    // Claimed when the token is handed out: the GET that follows may have no side effect.
    const claimed = await notify.db('print_jobs').first().where({ id: job.id })
    expect(claimed).toMatchObject({ status: 'printing', deviceId: device.deviceId, transport: 'cloudprnt' })
    const logSize = async () => Number((await notify.db('notifications').count({ n: '*' }))[0].n)
    const logBefore = await logSize()

    const first = await star.fetchJob('text/plain', job.id)
    expect(first.status).toBe(200)
    expect(first.headers.get('content-type')).toMatch(/^text\/plain/)
    const text = await first.text()
    expect(text).toContain(job.orderId)
    expect(text).toContain('Oak side table')
    expect(Math.max(...text.split('\n').map((line) => line.length))).toBeLessThanOrEqual(42)
    const again = await star.fetchJob('text/plain', job.id)
    expect(await again.text()).toBe(text)
    const starprnt = await star.fetchJob('application/vnd.star.starprnt', job.id)
    expect(starprnt.status).toBe(200)
    expect(starprnt.headers.get('content-type')).toBe('application/vnd.star.starprnt')
    const bytes = Buffer.from(await starprnt.arrayBuffer())
    expect(bytes.includes(Buffer.from(job.orderId))).toBe(true)
    expect(bytes[0]).toBe(0x1b)
    expect(await notify.db('print_jobs').first().where({ id: job.id })).toEqual(claimed)
    expect(await logSize()).toBe(logBefore)

    expect((await star.fetchJob('image/png', job.id)).status).toBe(415)
    expect((await star.fetchJob('text/plain', randomUUID())).status).toBe(404)

    const confirmed = await star.confirm('OK', job.id)
    expect(confirmed.status).toBe(200)
    expect(await confirmed.json()).toEqual({ jobId: job.id, status: 'printed' })
    // A confirmation sent again (its answer lost) changes nothing.
    expect((await star.confirm('OK', job.id)).status).toBe(200)
    expect((await star.fetchJob('text/plain', job.id)).status).toBe(404)
    expect((await star.poll()).body).toEqual({ jobReady: false })
    const { body } = await notify.call('GET', `/print-jobs/${job.id}`, { as: shop })
    expect(body).toMatchObject({ status: 'printed', deviceId: device.deviceId, transport: 'cloudprnt', error: null })

    const printers = (await notify.call('GET', '/printers', { as: shop })).body.data
    expect(printers).toEqual([expect.objectContaining({ id: device.deviceId, online: true, transport: 'cloudprnt' })])
  })

  it('prints no printer command or invisible character that order.paid carried, in either media type', async () => {
    const shop = seller()
    const star = printer(notify, await registeredDevice(notify, shop))
    const job = await paidJob(shop, hostileText.order)
    expect((await star.poll()).body.jobToken).toBe(job.id)
    const { orderId, placedAt, total, currency } = job.receipt
    const printable = { copy: false, receipt: { orderId, placedAt, total, currency, ...hostileText.printable } }

    const text = await (await star.fetchJob('text/plain', job.id)).text()
    expect(text).toBe(renderReceiptText(printable, { columns: 42 }))
    expect(text).toContain('Main St 1 p022')
    expect(holdsControlCharacters(text, { lineBreaks: true })).toBe(false)
    const starprnt = Buffer.from(await (await star.fetchJob('application/vnd.star.starprnt', job.id)).arrayBuffer())
    expect(starprnt.equals(Buffer.from(renderReceipt(printable, { language: 'star-prnt', columns: 42 })))).toBe(true)
    expect(starprnt.includes('\u001bp0')).toBe(false)

    // The printer's error code is shown to the seller: one printable line, whatever was sent.
    expect((await star.confirm('520 Paper\u001b[2J\u202e jam', job.id)).status).toBe(200)
    expect(await notify.db('print_jobs').first('status', 'error').where({ id: job.id })).toEqual({
      status: 'failed',
      error: 'CloudPRNT 520 Paper [2J jam'
    })
  })

  it('records a printer’s error code as a failure, and claims nothing while it cannot print', async () => {
    const shop = seller()
    const star = printer(notify, await registeredDevice(notify, shop))
    const job = await paidJob(shop)

    expect((await star.poll({ statusCode: '410%20Paper%20Empty' })).body).toEqual({ jobReady: false })
    expect((await star.poll({ printingInProgress: true })).body).toEqual({ jobReady: false })
    expect((await notify.db('print_jobs').first('status').where({ id: job.id })).status).toBe('queued')

    expect((await star.poll()).body.jobToken).toBe(job.id)
    expect((await star.confirm('520 Download timeout', job.id)).status).toBe(200)
    expect(await notify.db('print_jobs').first('status', 'error').where({ id: job.id })).toEqual({
      status: 'failed',
      error: 'CloudPRNT 520 Download timeout'
    })
  })

  it('leaves a claim the printer never confirms unconfirmed, and does not hand it out again', async () => {
    const shop = seller()
    const star = printer(notify, await registeredDevice(notify, shop))
    const job = await paidJob(shop)
    expect((await star.poll()).body.jobToken).toBe(job.id)
    await waitFor(async () => (await notify.db('print_jobs').first('status').where({ id: job.id })).status === 'unconfirmed', {
      what: 'the claim unconfirmed'
    })
    expect((await star.poll()).body).toEqual({ jobReady: false })
    expect((await star.fetchJob('text/plain', job.id)).status).toBe(404)
  })

  it('lets in only a registered, unrevoked device by its id and token, and only to its own shop’s jobs', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const stranger = printer(notify, await registeredDevice(notify, seller()))
    const job = await paidJob(shop)

    const anonymous = await fetch(`${notify.url}/cloudprnt`, { method: 'POST', body: '{"statusCode":"200 OK"}' })
    expect(anonymous.status).toBe(401)
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
    const swapped = printer(notify, { deviceId: randomUUID(), token: device.token })
    expect((await swapped.poll()).status).toBe(401)
    expect((await printer(notify, { deviceId: device.deviceId, token: 'mmdev_nonsense' }).poll()).status).toBe(401)

    expect((await stranger.poll()).body).toEqual({ jobReady: false })
    const star = printer(notify, device)
    expect((await star.poll()).body.jobToken).toBe(job.id)
    expect((await stranger.fetchJob('text/plain', job.id)).status).toBe(404)
    expect((await stranger.confirm('OK', job.id)).status).toBe(404)

    const invalid = await star.poll({ statusCode: '' })
    expect(invalid.status).toBe(400)
    expect(invalid.body.message).toContain('statusCode')
    expect((await star.fetchJob('text/plain', 'nope')).status).toBe(400)
    expect((await fetch(`${notify.url}/cloudprnt`, { method: 'PUT' })).status).toBe(405)

    await notify.emit('device.revoked', { deviceId: device.deviceId, sellerId: shop.sellerId! })
    await waitFor(async () => (await star.poll()).status === 401, { what: 'the revoked printer refused' })
    expect((await star.confirm('OK', job.id)).status).toBe(401)
  })
  it('refuses the printer of a disabled seller, and lets it in again once the seller is re-enabled', async () => {
    const shop = seller()
    await notify.emit('user.registered', userRegistered(shop))
    const star = printer(notify, await registeredDevice(notify, shop))
    expect(await star.poll()).toEqual({ status: 200, body: { jobReady: false } })

    await notify.emit('user.updated', userRegistered(shop, { version: 2, status: 'disabled' }))
    await waitFor(async () => (await star.poll()).status === 401, { what: 'the disabled seller’s printer refused' })
    // A job of an order paid before the seller was disabled waits for the printer.
    const job = await paidJob(shop)
    expect((await star.poll()).status).toBe(401)
    expect((await star.fetchJob('text/plain', job.id)).status).toBe(401)
    expect((await star.confirm('OK', job.id)).status).toBe(401)

    await notify.emit('user.updated', userRegistered(shop, { version: 3, status: 'active' }))
    await waitFor(async () => (await star.poll()).body.jobToken === job.id, { what: 'the printer let in again' })
  })
})
