import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import amqplib from 'amqplib'
import { describe, expect, it, vi } from 'vitest'
import { withEventCause } from '@marketmesh/events'
import { aggregateKey, consumerQueueNames, DEAD_LETTER_HEADERS, exchangeNames, VACUUM_AFTER_DEAD_ROWS } from '../src'
import { AMQP, cleanUp, createTcpProxy, createTestBus, metricValue, POSTGRES, uniqueName, waitFor } from '@marketmesh/test-support'
import { applyEffect, orderCreated } from './fixtures/effects.cjs'
import { afterThisTest, CONSUMER, effectsOf, emitInTransaction, twoServices, unsent, watchEverything } from './helpers'

describe('transactional outbox', () => {
  it('publishes a committed event exactly once and a rolled-back one never', async () => {
    const { publisher, consumer } = await twoServices()
    consumer.bus.on('order.created', applyEffect)
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()

    const rolledBack = await publisher.db
      .transaction(async (trx) => {
        await publisher.bus.emit(trx, 'order.created', orderCreated())
        throw new Error('the order could not be saved')
      })
      .catch(() => 'rolled back')
    expect(rolledBack).toBe('rolled back')
    const [committed] = await emitInTransaction(publisher.bus, publisher.db)

    const effects = await waitFor(async () => {
      const rows = await effectsOf(consumer.db)
      return rows.length > 0 && rows
    })
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(await effectsOf(consumer.db)).toEqual([{ order_id: committed.data.orderId, applications: 1 }])
    expect(effects).toHaveLength(1)
    expect(await publisher.db('outbox').count({ n: '*' })).toEqual([{ n: 1 }])
    expect(await metricValue(publisher.registry, 'events_published_total', { type: 'order.created' })).toBe(1)
  })

  it('publishes each envelope as it was written, its source, correlation and time as message properties', async () => {
    const { prefix, publisher } = await twoServices()
    const { messages } = await watchEverything(prefix)
    await publisher.bus.start()
    // The bus is the built package's, whose cause store is not the one in ../src.
    const envelopes = await publisher.db.transaction((trx) =>
      withEventCause({ correlationId: 'request-7', causationId: null }, () =>
        publisher.bus.emitAll(trx, 'order.created', [orderCreated(), orderCreated(), orderCreated()])
      )
    )

    await waitFor(() => messages.length === 3, { what: 'the three events' })
    const stored = await publisher.db('outbox').orderBy('id').select(publisher.db.raw('envelope::text AS text'))
    expect(messages.map((message) => message.content.toString())).toEqual(stored.map(({ text }) => text))
    for (const [index, message] of messages.entries()) {
      const envelope = envelopes[index]
      expect(JSON.parse(message.content.toString())).toEqual(envelope)
      expect(message.properties).toMatchObject({
        messageId: envelope.id,
        type: 'order.created',
        appId: 'order-service',
        correlationId: 'request-7',
        timestamp: Math.floor(Date.parse(envelope.occurredAt) / 1000),
        headers: { 'x-request-id': 'request-7' }
      })
    }
  })

  it('republishes a batch whose relay died before marking it sent, and the consumer applies it once', async () => {
    let crashes = 0
    const { publisher, consumer } = await twoServices({
      afterPublish: () => {
        // The broker has confirmed the batch; dying here is the worst moment for the relay.
        if (crashes++ === 0) throw new Error('relay killed before marking the batch sent')
      }
    })
    consumer.bus.on('order.created', applyEffect)
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    const events = await emitInTransaction(publisher.bus, publisher.db, 5)
    await publisher.bus.start()

    await waitFor(async () => (await unsent(publisher.db)) === 0, { what: 'the outbox to drain' })
    await waitFor(async () => (await metricValue(consumer.registry, 'events_duplicates_total')) === 5, { what: 'duplicates' })
    const effects = await effectsOf(consumer.db)
    expect(effects.map((row) => row.order_id).sort()).toEqual(events.map((event) => event.data.orderId).sort())
    expect(effects.every((row) => row.applications === 1)).toBe(true)
    expect(crashes).toBe(2)
  })

  it('publishes each event once and in outbox order with two instances relaying from one database', async () => {
    const { prefix, publisher, databases } = await twoServices()
    const second = await createTestBus({ service: 'order-service', connection: databases[0], prefix })
    afterThisTest(async () => {
      await second.bus.stop()
      await second.db.destroy()
    })
    // A plain queue that sees every event in the order the broker received it.
    const { received } = await watchEverything(prefix)
    await publisher.bus.start()
    await second.bus.start()

    // 1,200 events, more than two relay batches, committed one transaction after the other, each
    // transaction waking the relay of the instance that wrote it.
    const emitted: string[] = []
    for (let i = 0; i < 120; i++) {
      const { bus, db } = i % 2 === 0 ? publisher : second
      const events = await db.transaction((trx) => bus.emitAll(trx, 'order.created', Array.from({ length: 10 }, orderCreated)))
      emitted.push(...events.map((event) => event.id))
    }

    await waitFor(async () => (await unsent(publisher.db)) === 0, { what: 'the outbox to drain' })
    await waitFor(() => received.length >= emitted.length, { what: 'every event on the plain queue' })
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(received).toEqual(emitted)
    const published =
      (await metricValue(publisher.registry, 'events_published_total')) + (await metricValue(second.registry, 'events_published_total'))
    expect(published).toBe(1_200)
  })

  it('wakes the relay of the instance holding the lock when another commits, and hands it over when that one stops', async () => {
    const prefix = uniqueName('events').replace(/_/g, '.')
    const database = `${POSTGRES}/${uniqueName('publisher')}`
    // The poll is the safety net: past the test's length, so that only a notification or the handover publishes.
    const instance = () =>
      createTestBus({ service: 'order-service', connection: database, prefix, settings: { outbox: { pollIntervalMs: 600_000 } } })
    const leader = await instance()
    const standby = await instance()
    afterThisTest(async () => {
      await leader.bus.stop()
      await standby.bus.stop()
      await leader.db.destroy()
      await standby.db.destroy()
      await cleanUp({ prefix, databases: [database] })
    })
    const { received } = await watchEverything(prefix)
    await leader.bus.start()
    await waitFor(() => leader.bus.relay.isLeader, { what: 'the first instance to take the lock' })
    await standby.bus.start()

    const [fromStandby] = await emitInTransaction(standby.bus, standby.db)
    await waitFor(() => received.includes(fromStandby.id), { what: 'the standby’s event, published by the leader' })
    expect(standby.bus.relay.isLeader).toBe(false)
    // Counted once marked sent, which may come after a consumer has the message.
    await waitFor(async () => (await metricValue(leader.registry, 'events_published_total')) === 1, { what: 'the leader to count it' })
    expect(await metricValue(standby.registry, 'events_published_total')).toBe(0)

    await leader.bus.stop()
    await waitFor(() => standby.bus.relay.isLeader, { what: 'the standby to take the lock over' })
    const [afterHandover] = await emitInTransaction(standby.bus, standby.db)
    await waitFor(() => received.includes(afterHandover.id), { what: 'the event emitted after the handover' })
    expect(received).toEqual([fromStandby.id, afterHandover.id])
  })

  it('stops a standby at once, even while its relay is still connecting to wait for the lock', async () => {
    const prefix = uniqueName('events').replace(/_/g, '.')
    const database = `${POSTGRES}/${uniqueName('publisher')}`
    const leader = await createTestBus({ service: 'order-service', connection: database, prefix })
    const standby = await createTestBus({ service: 'order-service', connection: database, prefix })
    afterThisTest(async () => {
      await leader.bus.stop()
      await leader.db.destroy()
      await standby.db.destroy()
      await cleanUp({ prefix, databases: [database] })
    })
    await leader.bus.start()
    await waitFor(() => leader.bus.relay.isLeader, { what: 'the first instance to take the lock' })
    // The relay starts connecting when the broker connects (the start only begins that); this stop
    // comes right after, before the relay's connection is up.
    await standby.bus.start()
    const stopped = new Promise<void>((resolve) => standby.bus.broker.onConnect(() => void standby.bus.relay.stop().then(resolve)))
    let timer: NodeJS.Timeout | undefined
    const outcome = await Promise.race([
      stopped.then(() => 'stopped'),
      new Promise((resolve) => (timer = setTimeout(() => resolve('still waiting for the lock'), 10_000)))
    ])
    clearTimeout(timer)
    expect(outcome).toBe('stopped')
    expect(standby.bus.relay.isLeader).toBe(false)
    await standby.bus.stop()
  })

  it('keeps relaying after PostgreSQL drops its connections', async () => {
    const { publisher, consumer, databases } = await twoServices()
    consumer.bus.on('order.created', applyEffect)
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()
    const before = await emitInTransaction(publisher.bus, publisher.db, 5)
    await waitFor(async () => (await effectsOf(consumer.db)).length === 5, { what: 'the first 5 events' })

    // What a database restart or failover does to every open connection, the relay's own among them.
    const publisherDatabase = new URL(databases[0]).pathname.slice(1)
    const { rows } = await consumer.db.raw('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ?', [publisherDatabase])
    expect(rows.length).toBeGreaterThan(0)

    const after = await waitFor(() => emitInTransaction(publisher.bus, publisher.db, 5).catch(() => undefined), {
      what: 'an emit on a fresh connection'
    })
    await waitFor(async () => (await effectsOf(consumer.db)).length === 10, { what: 'the 5 events emitted after the drop' })
    const effects = await effectsOf(consumer.db)
    expect(effects.every((row) => row.applications === 1)).toBe(true)
    expect(new Set(effects.map((row) => row.order_id))).toEqual(new Set([...before, ...after].map((event) => event.data.orderId)))
  })

  it('delivers everything emitted while RabbitMQ was unreachable once it is back', async () => {
    const proxy = await createTcpProxy()
    afterThisTest(proxy.close)
    const { publisher, consumer } = await twoServices({ publisherAmqpUrl: proxy.url })
    consumer.bus.on('order.created', applyEffect)
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()
    await waitFor(() => publisher.bus.isConnected(), { what: 'the publisher to connect' })

    await proxy.cut()
    await waitFor(() => !publisher.bus.isConnected(), { what: 'the publisher to notice the outage' })
    const events = []
    for (let i = 0; i < 10; i++) events.push(...(await emitInTransaction(publisher.bus, publisher.db, 2)))
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await unsent(publisher.db)).toBe(20)
    expect(await effectsOf(consumer.db)).toEqual([])

    await proxy.restore()
    await waitFor(async () => (await effectsOf(consumer.db)).length === 20, { what: 'all 20 events', timeoutMs: 30_000 })
    const effects = await effectsOf(consumer.db)
    expect(effects.every((row) => row.applications === 1)).toBe(true)
    expect(new Set(effects.map((row) => row.order_id))).toEqual(new Set(events.map((event) => event.data.orderId)))
    await waitFor(async () => (await unsent(publisher.db)) === 0, { what: 'the relay to mark all 20 sent' })
  })
})

describe('retention', () => {
  it('purges sent outbox rows and dedupe rows past their retention, and nothing unsent', async () => {
    const { publisher } = await twoServices()
    const [old, fresh, unsentRow] = await emitInTransaction(publisher.bus, publisher.db, 3)
    const daysAgo = (days: number) => publisher.db.raw(`now() - interval '${days} days'`)
    await publisher
      .db('outbox')
      .where({ event_id: old.id })
      .update({ sent_at: daysAgo(4) })
    await publisher
      .db('outbox')
      .where({ event_id: fresh.id })
      .update({ sent_at: daysAgo(1) })
    await publisher.db('processed_events').insert([
      { consumer: 'order-service', event_id: old.id, processed_at: daysAgo(31) },
      { consumer: 'order-service', event_id: fresh.id, processed_at: daysAgo(29) }
    ])

    await publisher.bus.purgeExpired()

    expect((await publisher.db('outbox').pluck('event_id')).sort()).toEqual([fresh.id, unsentRow.id].sort())
    expect(await publisher.db('processed_events').pluck('event_id')).toEqual([fresh.id])
  })

  it('vacuums the outbox and side effects on the purge timer, every minute, once their dead rows pile up', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    afterThisTest(() => void vi.useRealTimers())
    const { publisher } = await twoServices()
    const { db } = publisher
    // Rows as the relay and the runners leave them: written, then updated (a dead row each).
    await db.raw(
      "INSERT INTO outbox (event_id, type, envelope, sent_at) SELECT gen_random_uuid(), 'order.created', '{}', now() FROM generate_series(1, ?)",
      [VACUUM_AFTER_DEAD_ROWS]
    )
    await db.raw(
      "INSERT INTO side_effects (id, kind, key, payload, status, finished_at) SELECT gen_random_uuid(), 'mail', i::text, '{}', 'done', now() FROM generate_series(1, ?) AS i",
      [VACUUM_AFTER_DEAD_ROWS]
    )
    await db.raw("UPDATE outbox SET sent_at = sent_at - interval '1 second'")
    await db.raw("UPDATE side_effects SET finished_at = finished_at - interval '1 second'")
    const tables = async () =>
      (
        await db.raw(
          "SELECT relname, n_dead_tup::int AS dead, last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname IN ('outbox', 'side_effects') ORDER BY relname"
        )
      ).rows
    await waitFor(async () => (await tables()).every((table: { dead: number }) => table.dead >= VACUUM_AFTER_DEAD_ROWS), {
      what: 'the dead rows counted'
    })
    // Side effects run (and are purged) where a kind has a performer.
    publisher.bus.effects.perform('mail', async () => undefined)
    await publisher.bus.start()

    vi.advanceTimersByTime(59_000)
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect((await tables()).map((table: { vacuumed: boolean }) => table.vacuumed)).toEqual([false, false])
    vi.advanceTimersByTime(1_000)
    await waitFor(async () => (await tables()).every((table: { vacuumed: boolean }) => table.vacuumed), { what: 'both tables vacuumed' })
    expect((await tables()).map((table: { dead: number }) => table.dead)).toEqual([0, 0])
  })
})

describe('consumer failures', () => {
  it('retries a handler that fails twice, then succeeds once', async () => {
    const { publisher, consumer } = await twoServices()
    const attempts: number[] = []
    consumer.bus.on('order.created', async (event, context) => {
      attempts.push(context.attempt)
      await applyEffect(event, context)
      if (context.attempt < 3) throw new Error(`payment provider timed out (attempt ${context.attempt})`)
    })
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()
    const [event] = await emitInTransaction(publisher.bus, publisher.db)

    await waitFor(async () => (await effectsOf(consumer.db)).length === 1, { what: 'the third attempt' })
    expect(attempts).toEqual([1, 2, 3])
    // The failed attempts rolled back their writes: the effect exists once.
    expect(await effectsOf(consumer.db)).toEqual([{ order_id: event.data.orderId, applications: 1 }])
    expect(await metricValue(consumer.registry, 'events_retried_total', { type: 'order.created' })).toBe(2)
  })

  it('dead-letters an event whose handler always fails, with its error, and one with an invalid payload at once', async () => {
    const { prefix, publisher, consumer } = await twoServices()
    consumer.bus.on('order.created', async () => {
      throw new Error('seller account is frozen')
    })
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()
    await waitFor(() => consumer.bus.isConnected())
    const [failing] = await emitInTransaction(publisher.bus, publisher.db)

    const connection = await amqplib.connect(AMQP)
    afterThisTest(() => connection.close())
    const channel = await connection.createConfirmChannel()
    const invalid = { ...failing, id: randomUUID(), data: { ...orderCreated(), total: -5 } }
    const invalidBody = JSON.stringify(invalid)
    channel.publish(exchangeNames(prefix).events, 'order.created', Buffer.from(invalidBody), { messageId: invalid.id, persistent: true })
    await channel.waitForConfirms()

    const { deadLetterQueue } = consumerQueueNames(prefix, CONSUMER)
    const deadLetters = await waitFor(
      async () => {
        const { messageCount } = await channel.checkQueue(deadLetterQueue)
        return messageCount === 2 && messageCount
      },
      { what: 'two dead letters' }
    )
    expect(deadLetters).toBe(2)
    const received = []
    for (let i = 0; i < 2; i++) received.push((await channel.get(deadLetterQueue, { noAck: true })) || undefined)
    const byId = Object.fromEntries(received.map((message) => [message!.properties.messageId, message!]))

    const exhausted = byId[failing.id]
    expect(JSON.parse(exhausted.content.toString())).toEqual(failing)
    expect(exhausted.properties.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.error]: 'seller account is frozen',
      [DEAD_LETTER_HEADERS.attempts]: 3,
      [DEAD_LETTER_HEADERS.consumer]: CONSUMER,
      [DEAD_LETTER_HEADERS.routingKey]: 'order.created'
    })
    expect(Date.parse(exhausted.properties.headers![DEAD_LETTER_HEADERS.failedAt])).toBeGreaterThan(Date.now() - 60_000)

    const rejected = byId[invalid.id]
    expect(rejected.content.toString()).toBe(invalidBody)
    expect(rejected.properties.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.error]: expect.stringMatching(/data\.total: must be >= 0/),
      [DEAD_LETTER_HEADERS.attempts]: 1
    })
    expect(await effectsOf(consumer.db)).toEqual([])
    expect(await metricValue(consumer.registry, 'events_dead_lettered_total', { consumer: CONSUMER })).toBe(2)
  })
})

describe('handlers that declare their locks', () => {
  it('run in batches of one transaction each, and batches locking the same rows in crossing orders never deadlock', async () => {
    const { publisher, consumer } = await twoServices({ consumerSettings: { amqp: { batchSize: 25, concurrency: 4, prefetch: 200 } } })
    const products = Array.from({ length: 4 }, () => randomUUID())
    await consumer.db.schema.createTable('stock', (table) => {
      table.uuid('id').primary()
      table.integer('reserved').notNullable()
    })
    await consumer.db('stock').insert(products.map((id) => ({ id, reserved: 0 })))
    // Each event reserves two of the products, locking their rows in its own (random) order and
    // holding the first while it takes the second: undeclared, two batches would deadlock.
    consumer.bus.on(
      'order.created',
      async (event, { trx }) => {
        for (const { productId } of event.data.lines) {
          await trx('stock').where({ id: productId }).forUpdate().first()
          await trx.raw('SELECT pg_sleep(0.002)')
          await trx('stock').where({ id: productId }).increment('reserved', 1)
        }
      },
      { locks: (event) => event.data.lines.map(({ productId }) => aggregateKey('product', productId)) }
    )
    await publisher.bus.start()
    const lines = () => {
      const [first, second] = [...products].sort(() => Math.random() - 0.5)
      return [first, second].map((productId) => ({ productId, quantity: 1, unitPrice: 1_250 }))
    }
    await publisher.db.transaction(async (trx) => {
      for (let index = 0; index < 200; index++) await publisher.bus.emit(trx, 'order.created', { ...orderCreated(), lines: lines() })
    })
    await waitFor(async () => (await unsent(publisher.db)) === 0, { what: 'the events published' })
    await consumer.bus.start()

    await waitFor(async () => Number((await consumer.db('stock').sum({ n: 'reserved' }))[0].n) === 400, {
      what: 'every reservation',
      timeoutMs: 60_000
    })
    expect(await consumer.db('processed_events').count({ n: '*' })).toEqual([{ n: 200 }])
    // One transaction per batch (the dedupe rows of a batch share its transaction id), not one per event as after a deadlock.
    const [{ transactions }] = (await consumer.db.raw('SELECT count(DISTINCT xmin::text)::int AS transactions FROM processed_events')).rows
    expect(transactions).toBeLessThan(20)
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    const [{ deadlocks }] = (await consumer.db.raw('SELECT deadlocks::int FROM pg_stat_database WHERE datname = current_database()')).rows
    expect(deadlocks).toBe(0)
  })
})

describe('a consumer killed mid-batch', () => {
  const startConsumerProcess = async (env: Record<string, string>) => {
    const child = spawn(process.execPath, [join(__dirname, 'fixtures', 'consumer-process.cjs')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit']
    })
    let output = ''
    child.stdout!.on('data', (chunk) => {
      output += chunk
      if (process.env.FIXTURE_LOG_LEVEL) process.stderr.write(chunk)
    })
    await waitFor(() => output.includes('consuming'), { what: 'the consumer process to consume' })
    return child
  }

  it('loses nothing and applies each event once after SIGKILL and restart', async () => {
    const { prefix, publisher, consumer, databases } = await twoServices()
    const env = { DATABASE_URL: databases[1], AMQP_PREFIX: prefix, HANDLER_DELAY_MS: '5' }
    const first = await startConsumerProcess(env)
    await publisher.bus.start()
    const events = []
    for (let i = 0; i < 30; i++) events.push(...(await emitInTransaction(publisher.bus, publisher.db, 10)))

    await waitFor(async () => (await effectsOf(consumer.db)).length >= 40, { what: 'some progress' })
    first.kill('SIGKILL')
    const appliedBeforeKill = (await effectsOf(consumer.db)).length
    expect(appliedBeforeKill).toBeLessThan(300)

    const second = await startConsumerProcess(env)
    afterThisTest(async () => void second.kill('SIGKILL'))
    await waitFor(async () => (await effectsOf(consumer.db)).length === 300, { what: 'all 300 events', timeoutMs: 30_000 })
    const effects = await effectsOf(consumer.db)
    expect(effects.filter((row) => row.applications !== 1)).toEqual([])
    expect(new Set(effects.map((row) => row.order_id))).toEqual(new Set(events.map((event) => event.data.orderId)))
    expect(await consumer.db('processed_events').where({ consumer: CONSUMER }).count({ n: '*' })).toEqual([{ n: 300 }])
  })
})
