import { afterAll, expect, it } from 'vitest'
import {
  cleanUp,
  createTestBus,
  isolatedEnvironment,
  POSTGRES,
  startServiceProcess,
  uniqueName,
  waitFor,
  type ServiceProcess
} from '@marketmesh/test-support'
import { bearer } from '@marketmesh/test-support/tokens'
import { startWebhookReceiver } from '@marketmesh/test-support/webhook-receiver'
import pg from 'pg'
import { buyer, orderRef, seller } from './helpers'

const environment = {
  ...isolatedEnvironment('notify_webhooks_kill'),
  WEBHOOK_TIMEOUT: '2s',
  WEBHOOK_RETRY_DELAYS_MS: '0,200,200,200',
  WEBHOOK_PER_ENDPOINT_CONCURRENCY: '4'
}
const busDatabase = `${POSTGRES}/${uniqueName('notify_webhooks_kill_bus')}`
let service: ServiceProcess | undefined

afterAll(async () => {
  service?.child.kill('SIGKILL')
  await cleanUp({ prefix: environment.AMQP_PREFIX, databases: [environment.DATABASE_URL, busDatabase] })
})

it('loses no delivery when notify-service is killed mid-delivery, and sends none again whose 2xx was recorded', async () => {
  const receiver = await startWebhookReceiver(() => ({ status: 200, delayMs: 150 }))
  const { bus, db: busDb } = await createTestBus({ service: 'test-consumer', connection: busDatabase, prefix: environment.AMQP_PREFIX })
  await bus.start()
  const notifyDb = new pg.Pool({ connectionString: environment.DATABASE_URL })
  const deliveryRows = async () => (await notifyDb.query<{ id: string; status: string }>('SELECT id, status FROM webhook_deliveries')).rows
  try {
    service = await startServiceProcess('notify-service', environment, { startTimeoutMs: 90_000 })
    const shop = seller()
    const registered = await fetch(`${service.url}/webhook-endpoints`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...bearer(shop) },
      body: JSON.stringify({ url: `${receiver.url}/erp`, events: ['order.shipped'] })
    })
    expect(registered.status).toBe(201)

    const orders = Array.from({ length: 40 }, () => orderRef(buyer(), shop))
    await busDb.transaction(async (trx) => {
      for (const order of orders) await bus.emit(trx, 'order.shipped', order)
    })
    await waitFor(() => receiver.received.length >= 10, { what: 'deliveries under way' })
    service.child.kill('SIGKILL')
    await service.exited
    // What the killed instance recorded as answered 2xx: each of these must have arrived once, never again.
    const recorded = (await deliveryRows()).filter((row) => row.status === 'succeeded').map((row) => row.id)
    expect(recorded.length).toBeLessThan(orders.length)

    service = await startServiceProcess('notify-service', environment, { startTimeoutMs: 90_000 })
    const deliveries = await waitFor(
      async () => {
        const rows = await deliveryRows()
        return rows.length === orders.length && rows.every((row) => row.status === 'succeeded') && rows
      },
      { what: 'every delivery succeeded after the restart', timeoutMs: 40_000 }
    )
    const received = receiver.received.map((webhook) => webhook.headers['webhook-id'])
    const shipped = new Set(receiver.received.map((webhook) => JSON.parse(webhook.body).data.orderId))
    expect(shipped).toEqual(new Set(orders.map((order) => order.orderId)))
    for (const { id } of deliveries) expect(received).toContain(id)
    for (const id of recorded)
      expect(
        received.filter((got) => got === id),
        id
      ).toHaveLength(1)
  } finally {
    await notifyDb.end()
    await bus.stop()
    await busDb.destroy()
    await receiver.close()
  }
}, 240_000)
