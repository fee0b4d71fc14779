import { randomUUID } from 'node:crypto'
import amqplib, { type ChannelModel } from 'amqplib'
import knex, { type Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consumerQueueNames, DEAD_LETTER_HEADERS } from '@marketmesh/events'
import { migrations as catalogMigrations } from '@marketmesh/catalog-service/migrations'
import { migrations as notifyMigrations } from '@marketmesh/notify-service/migrations'
import { migrations as orderMigrations } from '@marketmesh/order-service/migrations'
import { ensureDatabase, migrateLatest, serviceMigrations } from '@marketmesh/shared'
import { migrations as userMigrations } from '@marketmesh/user-service/migrations'
import { AMQP, cleanUp, isolatedSettings } from '@marketmesh/test-support'
import { cliInProcess } from './support/cli'

// `marketmesh order` on an order whose life went wrong: refunded in part, a refund the provider
// refused (its side effect failed), and an event about it dead-lettered at notify-service. The
// four databases are migrated as the services migrate them; the rows are what the services write.
const KEYS = ['user', 'catalog', 'order', 'notify'] as const
const MIGRATIONS = { user: userMigrations, catalog: catalogMigrations, order: orderMigrations, notify: notifyMigrations }
const { amqp } = isolatedSettings('cli_order')
const urls = Object.fromEntries(KEYS.map((key) => [key, isolatedSettings(`cli_order_${key}`).postgresql.connection])) as Record<
  (typeof KEYS)[number],
  string
>
const dbs = {} as Record<(typeof KEYS)[number], Knex>
let connection: ChannelModel

const checkoutId = randomUUID()
const orderId = randomUUID()
const buyerId = randomUUID()
const sellerId = randomUUID()
const paidBack = { id: randomUUID(), amount: 1_000, status: 'succeeded', reason: 'one chair arrived broken' }
const refused = { id: randomUUID(), amount: 500, status: 'failed', reason: 'postage' }
const deadLetterId = randomUUID()
// A provider's error as it came, with a control character that must not reach the terminal.
const REFUSAL = 'card_declined: the bank\u001b[2J refused\nrequest id req_123'

beforeAll(async () => {
  for (const key of KEYS) {
    await ensureDatabase(urls[key])
    dbs[key] = knex({ client: 'pg', connection: urls[key], pool: { min: 0, max: 2 } })
    await migrateLatest(dbs[key], serviceMigrations(MIGRATIONS[key]), urls[key])
  }
  const { order } = dbs
  await order('checkouts').insert({ id: checkoutId, buyerId, shippingAddress: {}, paymentProvider: 'test', paymentToken: 'tok_visa' })
  await order('orders').insert({ id: orderId, checkoutId, buyerId, sellerId, status: 'delivered', total: 4_000, currency: 'EUR', buyerName: 'Ada' })
  await order('refunds').insert([paidBack, refused].map((refund) => ({ ...refund, orderId, currency: 'EUR', by: buyerId })))
  await order('side_effects').insert([
    { id: randomUUID(), kind: 'payment-refund', key: paidBack.id, payload: { orderId }, status: 'done', attempts: 1, finished_at: new Date() },
    {
      id: randomUUID(),
      kind: 'payment-refund',
      key: refused.id,
      payload: { refundId: refused.id },
      status: 'failed',
      attempts: 3,
      last_error: REFUSAL
    },
    // Another order's effect is not this order's.
    { id: randomUUID(), kind: 'payment-refund', key: randomUUID(), payload: { orderId: randomUUID() }, status: 'failed', attempts: 3 }
  ])

  connection = await amqplib.connect(AMQP)
  const channel = await connection.createConfirmChannel()
  const { deadLetterQueue } = consumerQueueNames(amqp.prefix, 'notify-service')
  await channel.assertQueue(deadLetterQueue, { durable: true })
  const letter = (id: string, about: string) =>
    channel.sendToQueue(deadLetterQueue, Buffer.from(JSON.stringify({ id, type: 'order.refunded', data: { orderId: about } })), {
      messageId: id,
      type: 'order.refunded',
      persistent: true,
      headers: { [DEAD_LETTER_HEADERS.error]: 'mail template missing\n  at render', [DEAD_LETTER_HEADERS.failedAt]: '2026-12-07T10:00:00.000Z' }
    })
  letter(deadLetterId, orderId)
  letter(randomUUID(), randomUUID())
  await channel.waitForConfirms()
  await channel.close()

  process.env.AMQP_URL = AMQP
  process.env.AMQP_PREFIX = amqp.prefix
  for (const key of KEYS) process.env[`MARKETMESH_${key.toUpperCase()}_DATABASE_URL`] = urls[key]
})

afterAll(async () => {
  await connection?.close()
  await Promise.all(Object.values(dbs).map((db) => db.destroy()))
  await cleanUp({ prefix: amqp.prefix, databases: Object.values(urls) })
})

describe('marketmesh order', () => {
  it('shows an order’s refunds, the refund whose side effect failed with its error, and its dead letter, none of another order’s', async () => {
    const { code, stdout } = await cliInProcess(['order', orderId, '--json'])
    expect(code).toBe(0)
    const life = JSON.parse(stdout)
    expect(life.refunds).toEqual([expect.objectContaining(paidBack), expect.objectContaining(refused)])
    expect(life.sideEffects).toEqual([
      expect.objectContaining({ service: 'order-service', kind: 'payment-refund', key: paidBack.id, status: 'done' }),
      expect.objectContaining({
        service: 'order-service',
        kind: 'payment-refund',
        key: refused.id,
        status: 'failed',
        attempts: 3,
        lastError: REFUSAL
      })
    ])
    expect(life.deadLetters).toEqual([
      expect.objectContaining({
        queue: consumerQueueNames(amqp.prefix, 'notify-service').deadLetterQueue,
        messageId: deadLetterId,
        error: 'mail template missing\n  at render'
      })
    ])

    const human = await cliInProcess(['order', orderId])
    expect(human.stdout).toMatch(new RegExp(`^order ${orderId}: delivered, 4000 EUR`))
    const refunds = human.stdout.split('\nrefunds\n')[1]
    expect(refunds).toContain(refused.id)
    expect(refunds).toContain('one chair arrived broken')
    // The first line of each error, its control characters shown as escapes.
    expect(human.stdout).toContain('card_declined: the bank\\u001b[2J refused')
    expect(human.stdout).not.toContain('\u001b')
    expect(human.stdout).not.toContain('req_123')
    expect(human.stdout.split('\ndead letters\n')[1]).toContain('mail template missing')

    // Read, and left in place.
    const channel = await connection.createChannel()
    expect((await channel.checkQueue(consumerQueueNames(amqp.prefix, 'notify-service').deadLetterQueue)).messageCount).toBe(2)
    await channel.close()
  })
})
