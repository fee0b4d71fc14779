import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { startWebhookReceiver, type WebhookReceiver } from '@marketmesh/test-support/webhook-receiver'
import { SecretBox } from '../src/webhooks/secret-box'
import { sendWebhook } from '../src/webhooks/target'
import { admin, buyer, orderPaid, orderRef, seller, startNotify, userRegistered, type Notify } from './helpers'

const webhookSettings = {
  webhooks: { retryDelaysMs: [0, 300, 300], timeout: '2s', pollInterval: '1s', disableAfter: '5d', concurrency: 8, perEndpointConcurrency: 2 }
}

describe('webhook endpoints and deliveries', () => {
  let notify: Notify
  let receiver: WebhookReceiver
  // Per path: how often it still fails with which status before answering 204, or a delay.
  const plans = new Map<string, { failures: number[]; delayMs?: number }>()
  beforeAll(async () => {
    receiver = await startWebhookReceiver((path) => {
      const plan = plans.get(path)
      const status = plan?.failures.shift()
      return status ? { status, body: `failing \u001b[31mred\u001b[0m ${'x'.repeat(5000)}` } : { status: 204, delayMs: plan?.delayMs }
    })
    notify = await startNotify('notify_webhooks', webhookSettings)
  })
  afterAll(async () => {
    await notify?.close()
    await receiver?.close()
  })

  const register = async (owner = seller(), path = `/${Math.random().toString(36).slice(2)}`, events = ['order.*']) => {
    const { status, body } = await notify.call('POST', '/webhook-endpoints', { as: owner, body: { url: `${receiver.url}${path}`, events } })
    expect(status).toBe(201)
    return { owner, path, endpoint: body as { id: string; secret: string; status: string; url: string; events: string[] } }
  }

  const verified = (secret: string, path: string) =>
    receiver.at(path).map((webhook) => new Webhook(secret).verify(webhook.body, webhook.headers) as { type: string; timestamp: string; data: any })

  it('signs each delivery per Standard Webhooks: the secret shown once verifies it; data carries the id and a version', async () => {
    const { owner, path, endpoint } = await register()
    expect(endpoint).toMatchObject({ status: 'enabled', events: ['order.*'] })
    expect(endpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    const shown = await notify.call('GET', `/webhook-endpoints/${endpoint.id}`, { as: owner })
    expect(shown.status).toBe(200)
    expect(shown.body.secret).toBeUndefined()
    // Stored sealed: the row holds nothing of the secret, and opens to it with the service's key.
    const stored = await notify.db('webhook_endpoints').where({ id: endpoint.id }).first('secret')
    expect(stored.secret).not.toContain(endpoint.secret.slice(6, 20))
    expect(new SecretBox(notify.app.get('webhooks').secretKeys).open(stored.secret)).toBe(endpoint.secret)
    expect((await notify.call('GET', '/webhook-endpoints', { as: owner })).body.map((row: { id: string }) => row.id)).toEqual([endpoint.id])

    const paid = orderPaid(buyer(), owner)
    await notify.emit('order.paid', paid)
    await notify.emit('order.paid', orderPaid(buyer(), seller()))
    await waitFor(() => receiver.at(path).length >= 1, { what: 'the delivery' })
    const [message] = verified(endpoint.secret, path)
    expect(message).toMatchObject({ type: 'order.paid', data: { orderId: paid.orderId, sellerId: owner.sellerId } })
    expect(message.data.version).toEqual(expect.any(Number))
    expect(new Date(message.timestamp).getTime()).not.toBeNaN()
    // Another shop's order is not this seller's business, nor is the print job the order made (not subscribed).
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(receiver.at(path)).toHaveLength(1)
    expect(() =>
      new Webhook(`whsec_${Buffer.from('another secret, thirty-two bytes!').toString('base64')}`).verify(
        receiver.at(path)[0].body,
        receiver.at(path)[0].headers
      )
    ).toThrow()

    const { body: log } = await notify.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries`, { as: owner })
    expect(log.data).toHaveLength(1)
    expect(log.data[0]).toMatchObject({ id: receiver.at(path)[0].headers['webhook-id'], eventType: 'order.paid', status: 'succeeded' })
    expect(log.data[0].attempts).toEqual([expect.objectContaining({ statusCode: 204, responseSnippet: '' })])
  })

  it("sends an admin's endpoint every shop's events", async () => {
    const { path, endpoint } = await register(admin())
    const [first, second] = [orderPaid(buyer(), seller()), orderPaid(buyer(), seller())]
    await notify.emit('order.paid', first)
    await notify.emit('order.paid', second)
    await waitFor(() => receiver.at(path).length >= 2, { what: 'both deliveries' })
    expect(
      verified(endpoint.secret, path)
        .map((message) => message.data.orderId)
        .sort()
    ).toEqual([first.orderId, second.orderId].sort())
  })

  it('retries after a 500 with the same webhook-id, then succeeds; the log shows both attempts, the snippet capped and printable', async () => {
    const { owner, path, endpoint } = await register()
    plans.set(path, { failures: [500] })
    await notify.emit('order.shipped', orderRef(buyer(), owner))
    await waitFor(() => receiver.at(path).length >= 2, { what: 'the retry' })
    const [failed, retried] = receiver.at(path)
    expect(retried.headers['webhook-id']).toBe(failed.headers['webhook-id'])
    expect(verified(endpoint.secret, path)).toHaveLength(2)
    const delivery = await waitFor(
      async () => {
        const { body } = await notify.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=succeeded`, { as: owner })
        return body.data[0]
      },
      { what: 'the success recorded' }
    )
    expect(delivery.attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([500, 204])
    const snippet: string = delivery.attempts[0].responseSnippet
    expect(snippet.length).toBeLessThanOrEqual(4096)
    expect(snippet).toMatch(/^failing {2}\[31mred \[0m x+$/)
    await new Promise((resolve) => setTimeout(resolve, 800))
    expect(receiver.at(path)).toHaveLength(2)
  })

  it('fails a delivery after the last retry; POST …/retry sends it once more, and only a failed one', async () => {
    const { owner, path, endpoint } = await register()
    plans.set(path, { failures: [503, 503, 503, 503] })
    await notify.emit('order.shipped', orderRef(buyer(), owner))
    const failed = await waitFor(
      async () => (await notify.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=failed`, { as: owner })).body.data[0],
      { what: 'the delivery failed' }
    )
    expect(failed.attempts).toHaveLength(4)
    expect((await notify.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=pending`, { as: owner })).body.total).toBe(0)
    const retry = await notify.call('POST', `/webhook-endpoints/${endpoint.id}/deliveries/${failed.id}/retry`, { as: owner, body: {} })
    expect(retry.status).toBe(201)
    await waitFor(() => receiver.at(path).length === 5, { what: 'the retried delivery' })
    await waitFor(
      async () => (await notify.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=succeeded`, { as: owner })).body.total === 1,
      { what: 'the retry recorded' }
    )
    const again = await notify.call('POST', `/webhook-endpoints/${endpoint.id}/deliveries/${failed.id}/retry`, { as: owner, body: {} })
    expect(again.status).toBe(409)
    expect(again.body.message).toContain('succeeded')
  })

  it('disables an endpoint that answers 410 at once, and tells its owner on the stream', async () => {
    const { owner, path, endpoint } = await register()
    plans.set(path, { failures: [410, 410] })
    await notify.emit('order.shipped', orderRef(buyer(), owner))
    const disabled = await waitFor(
      async () => {
        const { body } = await notify.call('GET', `/webhook-endpoints/${endpoint.id}`, { as: owner })
        return body.status === 'disabled' && body
      },
      { what: 'the endpoint disabled' }
    )
    expect(disabled.disabledReason).toContain('410')
    expect(receiver.at(path)).toHaveLength(1)
    const { body } = await notify.call('GET', '/notifications?type=webhook.endpoint.disabled', { as: owner })
    expect(body.data[0]?.data).toMatchObject({ endpointId: endpoint.id })
    // Nothing more goes to it until its owner enables it again.
    await notify.emit('order.shipped', orderRef(buyer(), owner))
    await new Promise((resolve) => setTimeout(resolve, 600))
    expect(receiver.at(path)).toHaveLength(1)
    const enabled = await notify.call('PATCH', `/webhook-endpoints/${endpoint.id}`, { as: owner, body: { status: 'enabled' } })
    expect(enabled.body).toMatchObject({ status: 'enabled', disabledReason: null })
  })

  it('disables an endpoint failing for longer than disableAfter and mails its owner', async () => {
    const failing = await startNotify('notify_webhooks_failing', {
      webhooks: { ...webhookSettings.webhooks, disableAfter: '1s', retryDelaysMs: [0, 600, 600, 600] }
    })
    try {
      const owner = seller()
      await failing.emit('user.registered', userRegistered(owner))
      const path = '/always-failing'
      plans.set(path, { failures: Array(10).fill(502) })
      const { body: endpoint } = await failing.call('POST', '/webhook-endpoints', {
        as: owner,
        body: { url: `${receiver.url}${path}`, events: ['order.shipped'] }
      })
      await failing.emit('order.shipped', orderRef(buyer(), owner))
      const disabled = await waitFor(
        async () => {
          const { body } = await failing.call('GET', `/webhook-endpoints/${endpoint.id}`, { as: owner })
          return body.status === 'disabled' && body
        },
        { what: 'the endpoint disabled' }
      )
      expect(disabled.disabledReason).toContain('failed since')
      await waitFor(
        () => failing.db('side_effects').first().where({ kind: 'mail', status: 'done' }).whereLike('key', 'webhook-endpoint-disabled:%'),
        {
          what: 'the owner mailed'
        }
      )
    } finally {
      await failing.close()
    }
  })

  it('keeps a slow endpoint from holding up another', async () => {
    const shop = seller()
    const slow = await register(shop)
    const fast = await register(shop)
    plans.set(slow.path, { failures: [], delayMs: 1_500 })
    for (let index = 0; index < 4; index++) await notify.emit('order.shipped', orderRef(buyer(), shop))
    await waitFor(() => receiver.at(fast.path).length === 4, { what: 'the fast endpoint served' })
    await waitFor(() => receiver.at(slow.path).length === 4, { what: 'the slow endpoint served too', timeoutMs: 30_000 })
    // Every delivery to the fast endpoint arrived before the slow one had answered anything.
    const firstSlowAnswer = receiver.at(slow.path)[0].at + 1_500
    expect(Math.max(...receiver.at(fast.path).map((webhook) => webhook.at))).toBeLessThan(firstSlowAnswer)
    // The slow one had at most its share in flight (perEndpointConcurrency 2): the later ones came after the first answers.
    expect(receiver.at(slow.path)[3].at).toBeGreaterThanOrEqual(firstSlowAnswer)
  })

  it('signs with both secrets for a day after a rotation; the ping of POST …/test verifies with either', async () => {
    const { owner, path, endpoint } = await register()
    const rotated = await notify.call('POST', `/webhook-endpoints/${endpoint.id}/rotate-secret`, { as: owner, body: {} })
    expect(rotated.status).toBe(201)
    expect(rotated.body.secret).toMatch(/^whsec_/)
    expect(rotated.body.secret).not.toBe(endpoint.secret)
    const ping = await notify.call('POST', `/webhook-endpoints/${endpoint.id}/test`, { as: owner, body: {} })
    expect(ping.body).toMatchObject({ eventType: 'ping', status: 'pending' })
    await waitFor(() => receiver.at(path).length === 1, { what: 'the ping' })
    expect(receiver.at(path)[0].headers['webhook-signature'].split(' ')).toHaveLength(2)
    expect(verified(rotated.body.secret, path)[0]).toMatchObject({ type: 'ping', data: { endpointId: endpoint.id } })
    expect(verified(endpoint.secret, path)[0]).toMatchObject({ type: 'ping' })
  })

  it('refuses a fourth ping while three are still on their way', async () => {
    const { owner, path, endpoint } = await register()
    plans.set(path, { failures: [], delayMs: 1_000 })
    const statuses = []
    for (let index = 0; index < 4; index++)
      statuses.push((await notify.call('POST', `/webhook-endpoints/${endpoint.id}/test`, { as: owner, body: {} })).status)
    expect(statuses).toEqual([201, 201, 201, 429])
    await waitFor(
      async () => (await notify.call('GET', `/webhook-endpoints/${endpoint.id}/deliveries?status=succeeded`, { as: owner })).body.total === 3,
      {
        what: 'the pings answered'
      }
    )
    expect((await notify.call('POST', `/webhook-endpoints/${endpoint.id}/test`, { as: owner, body: {} })).status).toBe(201)
  })

  it("answers 404 for another seller's endpoint, 403 for a buyer, 400 naming the field for bad input, 409 past the limit", async () => {
    const { endpoint } = await register()
    const other = seller()
    for (const [method, path] of [
      ['GET', `/webhook-endpoints/${endpoint.id}`],
      ['PATCH', `/webhook-endpoints/${endpoint.id}`],
      ['DELETE', `/webhook-endpoints/${endpoint.id}`],
      ['GET', `/webhook-endpoints/${endpoint.id}/deliveries`],
      ['POST', `/webhook-endpoints/${endpoint.id}/rotate-secret`],
      ['POST', `/webhook-endpoints/${endpoint.id}/test`]
    ]) {
      const { status } = await notify.call(method, path, {
        as: other,
        body: method === 'GET' || method === 'DELETE' ? undefined : method === 'PATCH' ? { status: 'disabled' } : {}
      })
      expect(status, `${method} ${path}`).toBe(404)
    }
    expect((await notify.call('GET', '/webhook-endpoints', { as: other })).body).toEqual([])
    expect((await notify.call('POST', '/webhook-endpoints', { as: buyer(), body: { url: `${receiver.url}/b`, events: ['order.*'] } })).status).toBe(
      403
    )
    const badEvents = await notify.call('POST', '/webhook-endpoints', {
      as: other,
      body: { url: `${receiver.url}/b`, events: ['order.*', 'user.*'] }
    })
    expect(badEvents.status).toBe(400)
    expect(badEvents.body.message).toContain('events.1')
    const unknownType = await notify.call('POST', '/webhook-endpoints', { as: other, body: { url: `${receiver.url}/b`, events: ['order.lost'] } })
    expect(unknownType.status).toBe(400)
    // The families other work fills: taken before their types exist.
    const future = await notify.call('POST', '/webhook-endpoints', {
      as: other,
      body: { url: `${receiver.url}/b`, events: ['conversation.message.*', 'payout.paid', 'print.job.*', 'product.*', 'ping'] }
    })
    expect(future.status).toBe(201)
    const badUrl = await notify.call('POST', '/webhook-endpoints', { as: other, body: { url: 'ftp://example.com/hook', events: ['order.*'] } })
    expect(badUrl.status).toBe(400)
    expect(badUrl.body.message).toContain('url')
    const limited = admin()
    for (let index = 0; index < 10; index++) await register(limited)
    const eleventh = await notify.call('POST', '/webhook-endpoints', { as: limited, body: { url: `${receiver.url}/x`, events: ['order.*'] } })
    expect(eleventh.status).toBe(409)
    const removed = await notify.call('DELETE', `/webhook-endpoints/${future.body.id}`, { as: other })
    expect(removed.status).toBe(200)
    expect((await notify.call('GET', `/webhook-endpoints/${future.body.id}`, { as: other })).status).toBe(404)
  })

  it('sends product events to the shop seller who subscribed to them, with their version', async () => {
    const { owner, path, endpoint } = await register(seller(), '/products', ['product.*'])
    const productId = crypto.randomUUID()
    const product = { productId, sellerId: owner.sellerId!, version: 2, title: 'Oak stool', price: 4_000, currency: 'EUR', status: 'active' as const }
    await notify.emit('product.updated', product)
    await waitFor(() => receiver.at(path).length === 1, { what: 'the product delivery' })
    expect(verified(endpoint.secret, path)[0]).toMatchObject({ type: 'product.updated', data: { productId, version: 2 } })
  })

  it('answered everything above as notify-service’s OpenAPI document says', async () => {
    expect(await notify.undocumentedAnswers()).toEqual([])
    expect(notify.answerCount()).toBeGreaterThan(20)
  })
})

describe('webhook targets when private addresses are not allowed', () => {
  let notify: Notify
  let receiver: WebhookReceiver
  beforeAll(async () => {
    receiver = await startWebhookReceiver()
    notify = await startNotify('notify_webhooks_ssrf', { webhooks: { ...webhookSettings.webhooks, allowPrivate: false } })
  })
  afterAll(async () => {
    await notify?.close()
    await receiver?.close()
  })

  it('refuses loopback, metadata, private and mapped addresses, and names that resolve to them, at registration', async () => {
    for (const url of [
      receiver.url,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.1.2.3/hook',
      'http://192.168.0.10/hook',
      'http://[::1]:8080/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://localhost:9/hook'
    ]) {
      const { status, body } = await notify.call('POST', '/webhook-endpoints', { as: seller(), body: { url, events: ['order.*'] } })
      expect(status, url).toBe(400)
      expect(body.message, url).toMatch(/^Invalid url: /)
    }
  })

  it('refuses them again at delivery, where a name resolving to one is not connected to', async () => {
    const policy = { allowHttp: true, allowPrivate: false }
    for (const url of [
      `${receiver.url}/direct`,
      `http://localhost:${new URL(receiver.url).port}/by-name`,
      'http://169.254.169.254/latest/meta-data/'
    ]) {
      const outcome = await sendWebhook(url, '{}', {}, { policy, timeoutMs: 2_000 })
      expect(outcome.statusCode, url).toBeUndefined()
      expect(outcome.error, url).toMatch(/private, loopback, link-local or reserved/)
    }
    expect(receiver.received).toHaveLength(0)
    // The same receiver, allowed: the refusal above was the policy, not the network.
    expect((await sendWebhook(`${receiver.url}/allowed`, '{}', {}, { policy: { ...policy, allowPrivate: true }, timeoutMs: 2_000 })).statusCode).toBe(
      204
    )
  })

  it('takes https only when http is not allowed, and never follows a redirect', async () => {
    const production = { allowHttp: false, allowPrivate: false }
    expect((await sendWebhook('http://example.com/hook', '{}', {}, { policy: production, timeoutMs: 2_000 })).error).toContain('must be https')
    const redirecting = await startWebhookReceiver((path) => (path === '/moved' ? { status: 307 } : { status: 204 }))
    try {
      const outcome = await sendWebhook(`${redirecting.url}/moved`, '{}', {}, { policy: { allowHttp: true, allowPrivate: true }, timeoutMs: 2_000 })
      expect(outcome.statusCode).toBe(307)
      expect(redirecting.received).toHaveLength(1)
    } finally {
      await redirecting.close()
    }
  })

  it('gives up on an answer that does not come within the timeout, naming it', async () => {
    const silent = await startWebhookReceiver(() => ({ status: 204, delayMs: 5_000 }))
    try {
      const outcome = await sendWebhook(`${silent.url}/silent`, '{}', {}, { policy: { allowHttp: true, allowPrivate: true }, timeoutMs: 300 })
      expect(outcome.statusCode).toBeUndefined()
      expect(outcome.error).toBe('no answer within 300 ms')
      expect(outcome.durationMs).toBeGreaterThanOrEqual(290)
      expect(outcome.durationMs).toBeLessThan(2_000)
    } finally {
      await silent.close()
    }
  })

  it('takes the status as the outcome when the body after it is cut short', async () => {
    // A receiver that answers 200, writes part of its body and drops the connection.
    const cutting = createServer((request, response) => {
      request.resume()
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' })
      response.write('accepted, and then', () => response.socket?.destroy())
    })
    await new Promise<void>((resolve) => cutting.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = cutting.address() as AddressInfo
      const outcome = await sendWebhook(
        `http://127.0.0.1:${port}/cut`,
        '{}',
        {},
        { policy: { allowHttp: true, allowPrivate: true }, timeoutMs: 2_000 }
      )
      expect(outcome).toMatchObject({ statusCode: 200, responseSnippet: 'accepted, and then' })
      expect(outcome.error).toBeUndefined()
    } finally {
      await new Promise((resolve) => cutting.close(resolve))
    }
  })
})

describe('a stopping webhook sender', () => {
  it('gives back the deliveries it claimed and had not sent: due at once, their attempt not counted', async () => {
    const receiver = await startWebhookReceiver(() => ({ status: 204, delayMs: 1_000 }))
    const notify = await startNotify('notify_webhooks_stop', { webhooks: { ...webhookSettings.webhooks, perEndpointConcurrency: 1 } })
    const database = new pg.Pool({ connectionString: notify.settings.postgresql.connection })
    try {
      const shop = seller()
      const { status } = await notify.call('POST', '/webhook-endpoints', { as: shop, body: { url: `${receiver.url}/slow`, events: ['order.*'] } })
      expect(status).toBe(201)
      for (let index = 0; index < 3; index++) await notify.emit('order.shipped', orderRef(buyer(), shop))
      // One in flight (its endpoint's share), one more claimed ahead of its slot.
      const claimed = async () => (await database.query('SELECT id FROM webhook_deliveries WHERE attempts = 1')).rows.length
      await waitFor(async () => receiver.received.length === 1 && (await claimed()) === 2, { what: 'one delivery sent and one claimed ahead' })
      await notify.app.teardown()
      const { rows } = await database.query<{ status: string; attempts: number; due: boolean }>(
        'SELECT status, attempts, "runAfter" <= now() AS due FROM webhook_deliveries ORDER BY status DESC, attempts DESC'
      )
      // The one in flight was answered and recorded before the sender stopped.
      expect(rows).toEqual([
        { status: 'succeeded', attempts: 1, due: expect.any(Boolean) },
        { status: 'pending', attempts: 0, due: true },
        { status: 'pending', attempts: 0, due: true }
      ])
      expect(receiver.received).toHaveLength(1)
    } finally {
      await database.end()
      await notify.close()
      await receiver.close()
    }
  })
})
