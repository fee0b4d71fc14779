import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import rest from '@feathersjs/rest-client'
import amqplib from 'amqplib'
import { deepMerge, EVENT_VERSION, exchangeNames, listen, type EventData, type EventEnvelope, type EventType, type Principal } from '@marketmesh/shared'
import { createApp } from '../src/app'
import { createClient } from '../src/client'
import { AMQP, cleanUp, createTestBus, isolatedSettings, POSTGRES, uniqueName, waitFor } from '../../../test/support'
import { bearer } from '../../../test/support/tokens'

/** The event types a catalog test watches for. */
const WATCHED: EventType[] = [
  'product.created', 'product.updated', 'product.deleted', 'stock.reserved', 'stock.rejected', 'stock.released', 'review.created'
]

export const buyer = (): Principal => ({ id: randomUUID(), role: 'buyer' })
export const seller = (): Principal => {
  const id = randomUUID()
  return { id, role: 'seller', sellerId: id }
}
export const admin = (): Principal => ({ id: randomUUID(), role: 'admin' })

/**
 * catalog-service in-process on its own database and broker prefix, with a test bus that plays
 * the other services: it emits their events and records what the catalog emits.
 */
export const startCatalog = async (label: string, extra: Record<string, unknown> = {}) => {
  const settings = deepMerge(isolatedSettings(label), extra)
  const prefix = settings.amqp.prefix
  const app = createApp(settings)
  const server = await listen(app, 0)
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const busDatabase = `${POSTGRES}/${uniqueName(`${label}_bus`)}`
  const { bus, db } = await createTestBus({ service: 'test-consumer', connection: busDatabase, prefix })
  const received: EventEnvelope[] = []
  for (const type of WATCHED) bus.on(type, async (event) => void received.push(event))
  await bus.start()
  await bus.whenConsuming()

  const emit = <T extends EventType>(type: T, data: EventData<T>) => db.transaction((trx) => bus.emit(trx, type, data))

  const call = async (method: string, path: string, options: { as?: Principal; body?: unknown } = {}) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(options.as ? bearer(options.as) : {}) },
      body: options.body === undefined ? undefined : JSON.stringify(options.body)
    })
    // Any JSON: each test asserts the shape it expects.
    return { status: response.status, body: (await response.json()) as any }
  }

  return {
    app,
    url,
    db: app.get('postgresqlClient'),
    received,
    emit,
    call,
    /** The typed client, as `principal` when given. */
    client: (principal?: Principal) =>
      createClient(rest(url).fetch(fetch, { headers: principal ? bearer(principal) : {} })),
    /** Waits for `count` events of `type` (that `match`) from the catalog. */
    eventsOf: async <T extends EventType>(type: T, count = 1, match: (event: EventEnvelope<T>) => boolean = () => true) => {
      const matching = () => received.filter((event): event is EventEnvelope<T> => event.type === type && match(event as EventEnvelope<T>))
      await waitFor(() => matching().length >= count, { what: `${count} ${type}` })
      return matching()
    },
    /** Publishes one envelope straight to the exchange, as a redelivery would bring it. */
    publishRaw: async (envelope: EventEnvelope) => {
      const connection = await amqplib.connect(AMQP)
      const channel = await connection.createConfirmChannel()
      channel.publish(exchangeNames(prefix).events, envelope.type, Buffer.from(JSON.stringify(envelope)), {
        messageId: envelope.id,
        type: envelope.type,
        persistent: true,
        contentType: 'application/json'
      })
      await channel.waitForConfirms()
      await connection.close()
    },
    close: async () => {
      await bus.stop()
      await db.destroy()
      await app.teardown()
      server.close()
      await cleanUp({ prefix, databases: [settings.postgresql.connection, busDatabase] })
    }
  }
}

export type Catalog = Awaited<ReturnType<typeof startCatalog>>

/** An envelope as another service's outbox would write it. */
export const envelope = <T extends EventType>(type: T, data: EventData<T>): EventEnvelope<T> => {
  const id = randomUUID()
  return { id, type, version: EVENT_VERSION, occurredAt: new Date().toISOString(), source: 'order-service', correlationId: id, causationId: null, data }
}

export const productData = (overrides: Record<string, unknown> = {}) => ({
  title: 'Walnut desk lamp',
  description: 'A warm lamp for late reading',
  price: 4_999,
  currency: 'EUR',
  stock: 10,
  ...overrides
})
