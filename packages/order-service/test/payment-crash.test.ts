import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createKnex, type Knex, type Principal } from '@marketmesh/shared'
import { cleanUp, isolatedEnvironment, POSTGRES, startServiceProcess, uniqueName, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { bearer } from '@marketmesh/test-support/tokens'
import { buyer, checkoutBody, seller } from './helpers'

// order-service and catalog-service as processes on one prefix: order-service is killed between the capture and its commit.
const catalogEnv = isolatedEnvironment('crash_catalog')
const orderEnv = { ...catalogEnv, DATABASE_URL: `${POSTGRES}/${uniqueName('crash_order')}`, SIDE_EFFECT_LEASE_MS: '1000' }
let catalog: ServiceProcess
let order: ServiceProcess
let db: Knex
beforeAll(async () => {
  catalog = await startServiceProcess('catalog-service', catalogEnv)
  order = await startServiceProcess('order-service', orderEnv)
  db = createKnex({ client: 'pg', connection: orderEnv.DATABASE_URL, pool: { min: 0, max: 3 } })
})
afterAll(async () => {
  for (const service of [catalog, order]) service?.child.kill('SIGKILL')
  await db?.destroy()
  await cleanUp({ prefix: catalogEnv.AMQP_PREFIX, databases: [catalogEnv.DATABASE_URL, orderEnv.DATABASE_URL] })
})

const call = async (url: string, method: string, path: string, as: Principal, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...bearer(as), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  return (await response.json()) as any
}

it('charges once when order-service dies after the capture and before its commit', async () => {
  const owner = seller()
  const product = await call(catalog.url, 'POST', '/products', owner, { title: 'Kettle', price: 2_000, currency: 'EUR', stock: 3 })
  await waitFor(() => db('products').where({ id: product.id }).first('id'), { what: 'the product in the read model' })
  const customer = buyer()
  // The catalog is held still until the blocker below is in place: its reservation is what lets the capture go.
  catalog.child.kill('SIGSTOP')
  const placed = await call(order.url, 'POST', '/checkouts', customer, checkoutBody([{ productId: product.id, quantity: 1 }]), {
    'Idempotency-Key': randomUUID()
  })
  const orderId: string = placed.orders[0].id
  const checkoutId: string = placed.id

  // The step that makes the order paid writes its timeline last: holding that table stops it after the capture.
  const blocker = await db.transaction()
  await blocker.raw('LOCK TABLE order_timeline IN EXCLUSIVE MODE')
  catalog.child.kill('SIGCONT')
  await waitFor(
    () =>
      db('test_provider_calls')
        .where({ idempotencyKey: `${checkoutId}:capture` })
        .first('id'),
    { what: 'the capture' }
  )
  await new Promise((resolve) => setTimeout(resolve, 300))
  order.child.kill('SIGKILL')
  await order.exited
  await blocker.rollback()
  expect((await db('orders').where({ id: orderId }).first('status')).status).toBe('pending')

  order = await startServiceProcess('order-service', orderEnv)
  await waitFor(async () => (await db('orders').where({ id: orderId }).first('status')).status === 'paid', {
    what: 'the order paid after the restart',
    timeoutMs: 30_000
  })
  expect(await db('test_provider_outcomes').where('idempotencyKey', 'like', `${checkoutId}:%`).orderBy('operation').pluck('operation')).toEqual([
    'authorize',
    'capture'
  ])
  const captures = await db('test_provider_calls')
    .where({ idempotencyKey: `${checkoutId}:capture` })
    .orderBy('id')
    .pluck('result')
  expect(captures).toEqual(['succeeded', 'replayed'])
  const reference = async (operation: string) =>
    (
      await db('test_provider_outcomes')
        .where({ idempotencyKey: `${checkoutId}:${operation}` })
        .first('reference')
    ).reference
  expect(await db('payments').where({ checkoutId }).first('status', 'paymentId', 'captureId', 'captured')).toEqual({
    status: 'captured',
    paymentId: await reference('authorize'),
    captureId: await reference('capture'),
    captured: 2_000
  })
  expect((await db('orders').where({ id: orderId }).first('paymentId')).paymentId).toBe(await reference('authorize'))
})
