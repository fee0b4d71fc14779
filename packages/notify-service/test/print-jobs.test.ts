import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import type { Paginated } from '@feathersjs/feathers'
import { EventSource } from 'eventsource'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type ServiceApplication } from '@marketmesh/shared'
import { metricValue, waitFor } from '@marketmesh/test-support'
import { envelope } from '@marketmesh/test-support/service-under-test'
import { createApp } from '../src/app'
import type { Printer } from '../src/services/printers/printers.schema'
import {
  asDevice,
  buyer,
  holdsControlCharacters,
  hostileText,
  orderPaid,
  printJobOf,
  registeredDevice,
  seller,
  startNotify,
  type Notify
} from './helpers'
import { streamOpener, type Stream } from '@marketmesh/test-support/sse'

const settle = () => new Promise((resolve) => setTimeout(resolve, 300))

const jobsOn = (stream: Stream, type: 'print.job' | 'print.job.updated', jobId: string) =>
  stream.received.filter((message) => message.type === type && message.data.jobId === jobId)

describe('print jobs', () => {
  let notify: Notify
  const { open, closeAll } = streamOpener()
  beforeAll(async () => {
    notify = await startNotify('notify_print', { printing: { confirmTimeout: '2s', onlineWindow: '1m', cloudprntColumns: 48 } })
  })
  afterAll(async () => {
    closeAll()
    await notify?.close()
  })

  it('makes exactly one job of a paid order, with the receipt from order.paid, also when order.paid is delivered twice or sent again', async () => {
    const shop = seller()
    const paid = orderPaid(buyer(), shop, {
      lines: [
        { productId: randomUUID(), title: 'Oak side table', quantity: 2, unitPrice: 12_500 },
        { productId: randomUUID(), title: 'Felt pads', quantity: 1, unitPrice: 300 }
      ],
      total: 25_300
    })
    const event = envelope('order.paid', paid)
    await notify.publishRaw(event)
    await notify.publishRaw(event)
    // The same order paid again under another event id (a retried step upstream).
    await notify.emit('order.paid', paid)
    await waitFor(
      async () => (await notify.db('notifications').where({ type: 'order.paid' }).whereRaw(`data->>'orderId' = ?`, [paid.orderId])).length === 2,
      {
        what: 'both order.paid events handled'
      }
    )
    await waitFor(async () => (await metricValue(notify.app.get('metrics'), 'events_duplicates_total')) >= 1, { what: 'the redelivery skipped' })

    const { body } = await notify.call('GET', `/print-jobs?orderId=${paid.orderId}`, { as: shop })
    expect(body.total).toBe(1)
    const [job] = body.data
    expect(job).toMatchObject({ orderId: paid.orderId, sellerId: shop.sellerId, copy: false, status: 'queued', deviceId: null })
    expect(job.notificationId).toBeUndefined()
    expect(job.receipt).toEqual({
      shopName: paid.shopName,
      orderId: paid.orderId,
      placedAt: paid.placedAt,
      buyerName: paid.buyerName,
      shippingAddress: paid.shippingAddress,
      lines: [
        { title: 'Oak side table', quantity: 2, unitPrice: 12_500, total: 25_000 },
        { title: 'Felt pads', quantity: 1, unitPrice: 300, total: 300 }
      ],
      total: 25_300,
      currency: 'EUR'
    })
    const messages = await notify.db('notifications').where({ type: 'print.job' }).whereRaw(`data->>'orderId' = ?`, [paid.orderId])
    expect(messages).toHaveLength(1)
    expect(messages[0].data).toEqual({ jobId: job.id, orderId: paid.orderId, copy: false, createdAt: job.createdAt, receipt: job.receipt })
  })

  it('hands devices no printer command or invisible character that order.paid carried, in print.job data and in GET /print-jobs', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const stream = await open(notify.url, { token: device.token })
    const paid = orderPaid(buyer(), shop, hostileText.order)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)
    await waitFor(() => jobsOn(stream, 'print.job', job.id).length === 1, { what: 'the print.job message' })

    const [message] = jobsOn(stream, 'print.job', job.id)
    const { orderId, placedAt, total, currency } = paid
    expect(message.data.receipt).toEqual({ orderId, placedAt, total, currency, ...hostileText.printable })
    expect(holdsControlCharacters(message.data)).toBe(false)
    const { body } = await notify.call('GET', `/print-jobs/${job.id}`, { ...asDevice(device) })
    expect(body.receipt).toEqual(message.data.receipt)
  })

  it('withdraws a cancelled order’s queued receipt (no device may claim it, its seller sees it cancelled, no reprint), and makes none, nor a confirmation mail, when order.paid comes after order.cancelled', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const sellerStream = await open(notify.url, { as: shop })
    const cancellation = (paid: ReturnType<typeof orderPaid>) => ({
      orderId: paid.orderId,
      buyerId: paid.buyerId,
      sellerId: paid.sellerId,
      version: 3,
      reason: 'cancelled_by_buyer'
    })

    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)
    await notify.emit('order.cancelled', cancellation(paid))
    await waitFor(async () => (await notify.call('GET', `/print-jobs/${job.id}`, { as: shop })).body.status === 'cancelled', {
      what: 'the job cancelled'
    })
    const claim = await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printing' } })
    expect(claim.status).toBe(409)
    expect(claim.body.message).toContain('is cancelled')
    await waitFor(() => jobsOn(sellerStream, 'print.job.updated', job.id).some(({ data }) => data.status === 'cancelled'), {
      what: 'the seller told'
    })
    const reprint = await notify.call('POST', '/print-jobs', { as: shop, body: { orderId: paid.orderId } })
    expect(reprint.status).toBe(409)
    expect(reprint.body.message).toContain('cancelled')

    // The other way round: the cancellation handled first (a retried order.paid comes later).
    const late = orderPaid(buyer(), shop)
    await notify.emit('order.cancelled', cancellation(late))
    await notify.emit('order.paid', late)
    await waitFor(
      async () => (await notify.db('notifications').where({ type: 'order.paid' }).whereRaw(`data->>'orderId' = ?`, [late.orderId])).length === 1,
      { what: 'the late order.paid handled' }
    )
    expect((await notify.call('GET', `/print-jobs?orderId=${late.orderId}`, { as: shop })).body.total).toBe(0)
    // Nor a confirmation mail after the cancellation (the first order, paid before it, had its own).
    const mails = (orderId: string) => notify.db('side_effects').where({ kind: 'mail' }).whereLike('key', `%:${orderId}`).pluck('key')
    expect(await mails(late.orderId)).toEqual([])
    expect((await mails(paid.orderId)).sort()).toEqual([`new-order:${paid.orderId}`, `order-confirmation:${paid.orderId}`])
  })

  it('withdraws a job a claim held while the order was cancelled, once that claim has rolled back; no device may claim it meanwhile', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const sellerStream = await open(notify.url, { as: shop })
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)

    // A claim in progress: the job's row locked by a transaction that will roll back.
    const claiming = await notify.db.transaction()
    await claiming('print_jobs').where({ id: job.id }).forUpdate().first()
    await notify.emit('order.cancelled', {
      orderId: paid.orderId,
      buyerId: paid.buyerId,
      sellerId: paid.sellerId,
      version: 3,
      reason: 'cancelled_by_buyer'
    })
    await waitFor(
      async () => (await notify.db('notifications').where({ type: 'order.cancelled' }).whereRaw(`data->>'orderId' = ?`, [paid.orderId])).length === 1,
      { what: 'the cancellation handled' }
    )
    // Skipped, not waited for: the claim held it.
    expect((await notify.db('print_jobs').first('status').where({ id: job.id })).status).toBe('queued')
    await claiming.rollback()

    await waitFor(async () => (await notify.call('GET', `/print-jobs/${job.id}`, { as: shop })).body.status === 'cancelled', {
      what: 'the job withdrawn after the claim ended'
    })
    await waitFor(() => jobsOn(sellerStream, 'print.job.updated', job.id).some(({ data }) => data.status === 'cancelled'), {
      what: 'the seller told'
    })
    const claim = await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printing' } })
    expect(claim.status).toBe(409)
  })

  it('refuses a claim of a queued job whose order is cancelled (the window before its withdrawal)', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)
    // The state a rolled-back claim leaves until the withdrawal runs: tombstone placed, job queued.
    await notify.db('tombstones').insert({ aggregate: 'order', aggregate_id: paid.orderId, reason: 'order.cancelled' })
    const claim = await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printing' } })
    expect(claim.status).toBe(409)
    expect(claim.body.message).toContain('its order was cancelled')
    expect((await notify.db('print_jobs').first('status').where({ id: job.id })).status).toBe('queued')
  })

  it('gives a device that was offline the jobs queued meanwhile when it connects, on any instance, and new ones live', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)

    // An instance that never saw the job made (as after a restart) has it from the database.
    const second: ServiceApplication = createApp(notify.settings)
    const server = await listen(second, 0)
    try {
      const stream = await open(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { token: device.token })
      await waitFor(() => jobsOn(stream, 'print.job', job.id).length === 1, { what: 'the queued job on connect' })
      expect(jobsOn(stream, 'print.job', job.id)[0]).toMatchObject({ id: '', data: { jobId: job.id, copy: false, receipt: job.receipt } })

      const later = orderPaid(buyer(), shop)
      await notify.emit('order.paid', later)
      const laterJob = await printJobOf(notify, shop, later.orderId)
      await waitFor(() => jobsOn(stream, 'print.job', laterJob.id).length === 1, { what: 'the new job live' })
      expect(Number(jobsOn(stream, 'print.job', laterJob.id)[0].id)).toBeGreaterThan(0)
      stream.close()

      // Resuming past both: what is still queued comes again, once each.
      const lastEventId = jobsOn(stream, 'print.job', laterJob.id)[0].id
      const resumed = await open(notify.url, { token: device.token, lastEventId })
      await waitFor(() => jobsOn(resumed, 'print.job', laterJob.id).length === 1, { what: 'the queued jobs on resume' })
      await settle()
      expect(jobsOn(resumed, 'print.job', job.id)).toHaveLength(1)
      expect(jobsOn(resumed, 'print.job', laterJob.id)).toHaveLength(1)
    } finally {
      await second.teardown()
      server.close()
    }
  })

  it('lets one of two devices claim a job (the other gets 409), then only the claimant confirm it; the seller’s stream follows', async () => {
    const shop = seller()
    const [first, second] = await Promise.all([registeredDevice(notify, shop), registeredDevice(notify, shop)])
    const shopStream = await open(notify.url, { as: shop })
    const [firstStream, secondStream] = await Promise.all([open(notify.url, { token: first.token }), open(notify.url, { token: second.token })])
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)
    for (const stream of [firstStream, secondStream])
      await waitFor(() => jobsOn(stream, 'print.job', job.id).length === 1, { what: 'the job on both devices' })

    const claims = await Promise.all(
      [first, second].map((device) => notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printing' } }))
    )
    expect(claims.map(({ status }) => status).sort()).toEqual([200, 409])
    const winner = claims[0].status === 200 ? first : second
    const loser = winner === first ? second : first
    const won = claims.find(({ status }) => status === 200)!.body
    expect(won).toMatchObject({ id: job.id, status: 'printing', deviceId: winner.deviceId, transport: 'sse' })
    expect(claims.find(({ status }) => status === 409)!.body.message).toBe(`Print job ${job.id} is printing on another device: it cannot be claimed`)

    // The claimant's retried claim changes nothing; the other device may not confirm.
    expect((await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(winner), body: { status: 'printing' } })).status).toBe(200)
    const loserAck = await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(loser), body: { status: 'printed' } })
    expect(loserAck.status).toBe(409)
    expect(loserAck.body.message).toContain('is printing on another device')

    const printed = await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(winner), body: { status: 'printed' } })
    expect(printed.status).toBe(200)
    expect(printed.body).toMatchObject({ status: 'printed', error: null })
    expect(printed.body.finishedAt).toEqual(expect.any(String))
    // The claim's confirmation timer is moot once printed: gone, not left to fire.
    expect(await notify.db('side_effects').where({ kind: 'print-confirm-timeout', key: job.id }).pluck('id')).toEqual([])
    const failedAfter = await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(winner), body: { status: 'failed', error: 'paper out' } })
    expect(failedAfter.status).toBe(409)
    expect(failedAfter.body.message).toBe(`Print job ${job.id} is printed: it cannot become failed`)

    await waitFor(() => jobsOn(shopStream, 'print.job.updated', job.id).length === 2, { what: 'the state changes on the seller’s stream' })
    expect(jobsOn(shopStream, 'print.job.updated', job.id).map(({ data }) => [data.status, data.deviceId])).toEqual([
      ['printing', winner.deviceId],
      ['printed', winner.deviceId]
    ])
    // Devices get print jobs, not their state changes.
    expect(firstStream.received.map(({ type }) => type)).not.toContain('print.job.updated')
  })

  it('records a device’s failure with its error, and refuses input that is not a step', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)
    const patch = (body: unknown) => notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body })

    const early = await patch({ status: 'printed' })
    expect(early.status).toBe(409)
    expect(early.body.message).toBe(`Print job ${job.id} is queued: claim it first (status printing)`)
    expect((await patch({ status: 'queued' })).status).toBe(400)
    expect((await patch({ status: 'printing', error: 'x' })).body.message).toBe('Invalid error: is only for status failed')
    expect((await patch({ status: 'printing', deviceId: device.deviceId })).body.message).toContain('deviceId: is not a known field')
    expect((await notify.call('PATCH', '/print-jobs/not-a-uuid', { ...asDevice(device), body: { status: 'printing' } })).status).toBe(400)
    expect((await notify.call('PATCH', `/print-jobs/${job.id}`, { as: shop, body: { status: 'printing' } })).status).toBe(403)

    expect((await patch({ status: 'printing' })).status).toBe(200)
    // The error is shown to the seller: one line, no control characters.
    const forged = await patch({ status: 'failed', error: 'Cover open\u001b[2J' })
    expect(forged.status).toBe(400)
    expect(forged.body.message).toBe('Invalid error: must not contain U+001B (a control character)')
    const failed = await patch({ status: 'failed', error: 'Cover open' })
    expect(failed.status).toBe(200)
    expect(failed.body).toMatchObject({ status: 'failed', error: 'Cover open' })
    expect(await notify.db('side_effects').where({ kind: 'print-confirm-timeout', key: job.id }).pluck('id')).toEqual([])
    const { body } = await notify.call('GET', '/print-jobs?status=failed', { as: shop })
    expect(body.data.map(({ id }: { id: string }) => id)).toEqual([job.id])
  })

  it('turns a claim that is never confirmed into unconfirmed, also when the instance that took it is gone, and never sends it again by itself', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const shopStream = await open(notify.url, { as: shop })
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)
    // Claimed on an instance that stops at once: its timer is a row, fired by another.
    const second: ServiceApplication = createApp(notify.settings)
    const server = await listen(second, 0)
    const claim = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/print-jobs/${job.id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', ...asDevice(device).headers },
      body: JSON.stringify({ status: 'printing' })
    })
    expect(claim.status).toBe(200)
    await second.teardown()
    server.close()

    await waitFor(async () => (await notify.call('GET', `/print-jobs/${job.id}`, { as: shop })).body.status === 'unconfirmed', {
      what: 'the claim unconfirmed after PRINT_CONFIRM_TIMEOUT'
    })
    await waitFor(() => jobsOn(shopStream, 'print.job.updated', job.id).some(({ data }) => data.status === 'unconfirmed'), {
      what: 'unconfirmed on the seller’s stream'
    })
    // Neither a new stream nor another device's claim gets it.
    const other = await registeredDevice(notify, shop)
    const stream = await open(notify.url, { token: other.token })
    const otherClaim = await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(other), body: { status: 'printing' } })
    expect(otherClaim.status).toBe(409)
    expect(otherClaim.body.message).toContain('is unconfirmed')
    await settle()
    expect(jobsOn(stream, 'print.job', job.id)).toEqual([])
    expect(await notify.db('print_jobs').where({ orderId: paid.orderId })).toHaveLength(1)
    // The claimant's late word is still the truth about the paper.
    const late = await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printed' } })
    expect(late.body.status).toBe('printed')
  })

  it('reprints an order of the seller’s as a copy, for its devices; another’s or an unknown order is a 404', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const stream = await open(notify.url, { token: device.token })
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const original = await printJobOf(notify, shop, paid.orderId)

    const reprint = await notify.call('POST', '/print-jobs', { as: shop, body: { orderId: paid.orderId } })
    expect(reprint.status).toBe(201)
    expect(reprint.body).toMatchObject({ orderId: paid.orderId, copy: true, status: 'queued', receipt: original.receipt })
    expect(reprint.body.id).not.toBe(original.id)
    await waitFor(() => jobsOn(stream, 'print.job', reprint.body.id).length === 1, { what: 'the copy on the device' })
    expect(jobsOn(stream, 'print.job', reprint.body.id)[0].data.copy).toBe(true)
    expect((await notify.call('GET', `/print-jobs?orderId=${paid.orderId}`, { as: shop })).body.total).toBe(2)

    const otherShop = seller()
    expect((await notify.call('POST', '/print-jobs', { as: otherShop, body: { orderId: paid.orderId } })).status).toBe(404)
    expect((await notify.call('POST', '/print-jobs', { as: shop, body: { orderId: randomUUID() } })).status).toBe(404)
    expect((await notify.call('POST', '/print-jobs', { ...asDevice(device), body: { orderId: paid.orderId } })).status).toBe(403)
    expect((await notify.call('POST', '/print-jobs', { as: buyer(), body: { orderId: paid.orderId } })).status).toBe(403)
    const invalid = await notify.call('POST', '/print-jobs', { as: shop, body: { orderId: 'nope' } })
    expect(invalid.status).toBe(400)
    expect(invalid.body.message).toContain('orderId')
  })

  it('keeps another seller’s devices from seeing, claiming or confirming a shop’s jobs', async () => {
    const shop = seller()
    const otherShop = seller()
    const device = await registeredDevice(notify, shop)
    const stranger = await registeredDevice(notify, otherShop)
    const strangerStream = await open(notify.url, { token: stranger.token })
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)

    expect((await notify.call('GET', `/print-jobs?orderId=${paid.orderId}`, asDevice(stranger))).body.total).toBe(0)
    expect((await notify.call('GET', `/print-jobs?orderId=${paid.orderId}`, asDevice(device))).body.total).toBe(1)
    expect((await notify.call('GET', `/print-jobs/${job.id}`, asDevice(stranger))).status).toBe(404)
    expect((await notify.call('GET', `/print-jobs/${job.id}`, { as: otherShop })).status).toBe(404)
    expect((await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(stranger), body: { status: 'printing' } })).status).toBe(404)
    expect((await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printing' } })).status).toBe(200)
    expect((await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(stranger), body: { status: 'printed' } })).status).toBe(404)
    expect((await notify.call('GET', `/print-jobs/${job.id}`, { as: shop })).body.status).toBe('printing')
    await settle()
    expect(strangerStream.received.filter(({ type }) => type.startsWith('print.'))).toEqual([])
    expect((await notify.call('GET', '/print-jobs', { as: buyer() })).status).toBe(403)
  })

  it('refuses a revoked device at once, on the print-job endpoints too, and ends its stream', async () => {
    const shop = seller()
    const device = await registeredDevice(notify, shop)
    const stream = await open(notify.url, { token: device.token })
    const paid = orderPaid(buyer(), shop)
    await notify.emit('order.paid', paid)
    const job = await printJobOf(notify, shop, paid.orderId)
    expect((await notify.call('GET', '/print-jobs', asDevice(device))).status).toBe(200)

    await notify.emit('device.revoked', { deviceId: device.deviceId, sellerId: shop.sellerId! })
    await waitFor(() => stream.source.readyState === EventSource.CLOSED, { what: 'the revoked device’s stream ended' })
    expect(stream.opened).toBe(1)
    expect((await notify.call('GET', '/print-jobs', asDevice(device))).status).toBe(401)
    expect((await notify.call('PATCH', `/print-jobs/${job.id}`, { ...asDevice(device), body: { status: 'printing' } })).status).toBe(401)
    expect((await notify.call('GET', `/print-jobs/${job.id}`, { as: shop })).body.status).toBe('queued')
  })

  it('lists a seller’s printers with online, lastSeenAt and transport', async () => {
    const shop = seller()
    const streaming = await registeredDevice(notify, shop)
    const idle = await registeredDevice(notify, shop)
    await registeredDevice(notify, seller())
    const printers = async () => (await notify.call('GET', '/printers', { as: shop })).body as Paginated<Printer>
    const byId = async () => new Map((await printers()).data.map((printer) => [printer.id, printer]))

    const stream = await open(notify.url, { token: streaming.token })
    await waitFor(async () => (await byId()).get(streaming.deviceId)?.online, { what: 'the streaming device online' })
    const listed = await printers()
    expect(listed.total).toBe(2)
    const shown = await byId()
    expect(shown.get(streaming.deviceId)).toMatchObject({
      name: 'Packing desk printer',
      online: true,
      transport: 'sse',
      lastSeenAt: expect.any(String)
    })
    expect(shown.get(idle.deviceId)).toEqual({ id: idle.deviceId, name: 'Packing desk printer', online: false, lastSeenAt: null, transport: null })

    stream.close()
    await waitFor(async () => (await byId()).get(streaming.deviceId)?.online === false, { what: 'the device offline once its stream ended' })
    expect((await notify.call('GET', '/printers', asDevice(streaming))).status).toBe(403)
    expect((await notify.call('GET', '/printers?online=true', { as: shop })).status).toBe(400)
  })

  it('counts queued and printing jobs in the metrics', async () => {
    const text = await (await fetch(`${notify.opsUrl}/metrics`)).text()
    expect(text).toMatch(/print_jobs\{[^}]*status="queued"[^}]*\} [1-9]/)
    expect(text).toMatch(/print_jobs\{[^}]*status="printing"[^}]*\} \d+/)
  })

  it('answered everything above as notify-service’s OpenAPI document says', async () => {
    expect(await notify.undocumentedAnswers()).toEqual([])
    expect(notify.answerCount()).toBeGreaterThan(30)
  })
})
