import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '@marketmesh/notify-service'
import { waitFor } from '@marketmesh/test-support'
import { seller, startServiceUnderTest, type ServiceUnderTest } from '@marketmesh/test-support/service-under-test'
import { startWebhookReceiver, type WebhookReceiver } from '@marketmesh/test-support/webhook-receiver'
import { cli } from './support/cli'

// notify-service in this process on a database of its own; the built CLI reads and changes that database.
describe('marketmesh webhooks', () => {
  let notify: ServiceUnderTest
  let receiver: WebhookReceiver
  let receiverUp = false
  const shop = seller()
  beforeAll(async () => {
    receiver = await startWebhookReceiver(() => ({ status: receiverUp ? 204 : 500 }))
    notify = await startServiceUnderTest({
      label: 'cli_webhooks',
      createApp,
      watched: [],
      settings: { webhooks: { retryDelaysMs: [0], pollInterval: '1s' } }
    })
  })
  afterAll(async () => {
    await notify?.close()
    await receiver?.close()
  })
  const env = () => ({ MARKETMESH_NOTIFY_DATABASE_URL: notify.settings.postgresql.connection })

  it('lists endpoints and failed deliveries, and retries them', async () => {
    const { body: endpoint } = await notify.call('POST', '/webhook-endpoints', {
      as: shop,
      body: { url: `${receiver.url}/erp`, events: ['order.*'] }
    })
    const orderId = randomUUID()
    await notify.emit('order.shipped', { orderId, buyerId: randomUUID(), sellerId: shop.sellerId!, version: 3 })
    await waitFor(async () => (await notify.db('webhook_deliveries').where({ status: 'failed' })).length === 1, { what: 'the delivery failed' })

    const endpoints = await cli(['webhooks', 'endpoints', '--json'], env())
    expect(endpoints.stderr).toBe('')
    expect(JSON.parse(endpoints.stdout)).toMatchObject({
      id: endpoint.id,
      owner: `seller ${shop.sellerId}`,
      status: 'enabled',
      failed: 1,
      pending: 0
    })
    expect(endpoints.stdout).not.toContain('whsec_')

    const failed = await cli(['webhooks', 'failed', '--since', '1h', '--json'], env())
    const [delivery] = failed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(delivery).toMatchObject({ endpointId: endpoint.id, eventType: 'order.shipped', attempts: 2, lastStatusCode: 500 })

    const refused = await cli(['webhooks', 'retry'], env())
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('--yes')

    receiverUp = true
    const retried = await cli(['webhooks', 'retry', '--endpoint', endpoint.id, '--yes'], env())
    expect(retried.stdout).toBe('queued 1 deliveries to be sent again\n')
    await waitFor(async () => (await notify.db('webhook_deliveries').where({ status: 'succeeded' })).length === 1, {
      what: 'the retried delivery sent'
    })
    expect(receiver.at('/erp').map((webhook) => webhook.headers['webhook-id'])).toEqual([delivery.id, delivery.id, delivery.id])
    expect((await cli(['webhooks', 'failed', '--json'], env())).stdout).toBe('')
  })
})
