import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import amqplib from 'amqplib'
import { describe, expect, it } from 'vitest'
import type { Knex } from '@marketmesh/shared'
import { aggregateKey, consumerQueueNames, DEAD_LETTER_HEADERS, EVENT_CONSUMERS, lockAggregates, QUEUE_TYPES, type EventType } from '../src'
import {
  AMQP,
  cleanUp,
  createTcpProxy,
  createTestBus,
  isolatedEnvironment,
  metricValue,
  startServiceProcess,
  waitFor
} from '@marketmesh/test-support'
import { applyEffect, effectsMigrations, orderCreated } from './fixtures/effects.cjs'
import { afterThisTest, CONSUMER, effectsOf, emitInTransaction, twoServices, watchEverything } from './helpers'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const deadLetterCount = async (prefix: string, consumer = CONSUMER) => {
  const connection = await amqplib.connect(AMQP)
  try {
    const channel = await connection.createChannel()
    return (await channel.checkQueue(consumerQueueNames(prefix, consumer).deadLetterQueue)).messageCount
  } finally {
    await connection.close()
  }
}

describe('a long broker outage', () => {
  it('keeps the service and its HTTP API up with 700 unsent rows, and publishes them all once the broker is back', async () => {
    const proxy = await createTcpProxy()
    afterThisTest(proxy.close)
    const env = { ...isolatedEnvironment('outage'), AMQP_URL: proxy.url, AMQP_PUBLISH_TIMEOUT_MS: '500' }
    // catalog-service consumes no product.* event: what the relay publishes is for the watching queue only.
    const service = await startServiceProcess('catalog-service', env)
    afterThisTest(async () => {
      service.child.kill('SIGKILL')
      await cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] })
    })
    await waitFor(async () => (await fetch(`${service.url}/ready`)).status === 200, { what: 'catalog-service ready' })
    const { received } = await watchEverything(env.AMQP_PREFIX)

    await proxy.cut()
    await waitFor(async () => (await fetch(`${service.url}/ready`)).status === 503, { what: 'the service to notice the outage' })
    const { default: knex } = await import('knex')
    const db = knex({ client: 'pg', connection: env.DATABASE_URL, pool: { min: 0, max: 1 } })
    afterThisTest(() => db.destroy())
    const ids: string[] = await db
      .raw(
        `
      INSERT INTO outbox (event_id, type, envelope)
      SELECT id, 'product.deleted', jsonb_build_object('id', id, 'type', 'product.deleted', 'version', 1,
             'occurredAt', now(), 'source', 'catalog-service', 'correlationId', id, 'causationId', null,
             'data', jsonb_build_object('productId', gen_random_uuid(), 'sellerId', gen_random_uuid(), 'version', 1))
        FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, 700)) AS fresh
      RETURNING event_id`
      )
      .then((result: { rows: Array<{ event_id: string }> }) => result.rows.map((row) => row.event_id))

    // Many publish timeouts long: a relay that let one reject unhandled would have taken the process down.
    await sleep(4_000)
    expect(service.child.exitCode).toBeNull()
    expect((await fetch(`${service.url}/health`)).status).toBe(200)
    expect((await fetch(`${service.url}/products`)).status).toBe(200)

    await proxy.restore()
    await waitFor(() => ids.every((id) => received.includes(id)), { what: 'all 700 events', timeoutMs: 30_000 })
    await waitFor(async () => Number((await db('outbox').whereNull('sent_at').count({ n: '*' }))[0].n) === 0, { what: 'all marked sent' })
    expect(service.child.exitCode).toBeNull()
  })
})

describe('infrastructure failures', () => {
  it('pauses through a PostgreSQL outage longer than all retry delays: every event handled once, none retried or dead-lettered', async () => {
    const proxy = await createTcpProxy({ host: '127.0.0.1', port: 5432 })
    afterThisTest(proxy.close)
    const { prefix, publisher, consumer } = await twoServices({
      consumerConnection: (database) => `postgres://postgres@127.0.0.1:${proxy.port}/${database}`
    })
    consumer.bus.on('order.created', applyEffect)
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()
    const before = await emitInTransaction(publisher.bus, publisher.db, 10)
    await waitFor(async () => (await effectsOf(consumer.db)).length === 10, { what: 'the first 10 events' })

    await proxy.cut()
    // Events keep arriving while the consumer's database is gone for 5 times the sum of the retry delays (200 + 400 ms).
    const during = []
    for (let i = 0; i < 6; i++) {
      during.push(...(await emitInTransaction(publisher.bus, publisher.db, 5)))
      await sleep(500)
    }
    await proxy.restore()

    await waitFor(async () => (await effectsOf(consumer.db)).length === 40, { what: 'all 40 events', timeoutMs: 30_000 })
    const effects = await effectsOf(consumer.db)
    expect(effects.every((row) => row.applications === 1)).toBe(true)
    expect(new Set(effects.map((row) => row.order_id))).toEqual(new Set([...before, ...during].map((event) => event.data.orderId)))
    expect(await metricValue(consumer.registry, 'events_retried_total')).toBe(0)
    expect(await metricValue(consumer.registry, 'events_dead_lettered_total')).toBe(0)
    expect(await metricValue(consumer.registry, 'events_consumption_paused_total')).toBeGreaterThan(0)
    expect(await deadLetterCount(prefix)).toBe(0)
  })

  it('still counts a handler’s own connection failure to another dependency as an attempt', async () => {
    const { prefix, publisher, consumer } = await twoServices()
    consumer.bus.on('order.created', async () => {
      const error = new Error('connect ECONNREFUSED 127.0.0.1:9') as NodeJS.ErrnoException
      error.code = 'ECONNREFUSED'
      throw error
    })
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()
    await emitInTransaction(publisher.bus, publisher.db)
    await waitFor(async () => (await deadLetterCount(prefix)) === 1, { what: 'the dead letter' })
    expect(await metricValue(consumer.registry, 'events_retried_total')).toBe(2)
  })
})

// On classic queues, which take no delivery limit, the crash limit counted in the database is the only one.
describe.each(QUEUE_TYPES)('a consumer in a crash loop, on %s queues', (queueType) => {
  it('dead-letters the event that crashes it, with the reason, and handles every healthy event once', async () => {
    const { prefix, publisher, consumer, databases } = await twoServices({ queueType })
    await publisher.bus.start()
    const [poison, ...healthy] = await emitInTransaction(publisher.bus, publisher.db, 16)
    const env = {
      DATABASE_URL: databases[1],
      AMQP_PREFIX: prefix,
      AMQP_QUEUE_TYPE: queueType,
      POISON_ORDER_ID: poison.data.orderId,
      EVENT_CRASH_LIMIT: '2'
    }
    const fixture = join(__dirname, 'fixtures', 'consumer-process.cjs')

    // The poison is first in the queue, in one batch with 15 healthy events; each start crashes on it until it is dead-lettered.
    let crashes = 0
    for (; crashes < 8; crashes++) {
      const child = spawn(process.execPath, [fixture], {
        env: { ...process.env, ...env },
        stdio: process.env.FIXTURE_LOG_LEVEL ? 'inherit' : 'ignore'
      })
      afterThisTest(() => void child.kill('SIGKILL'))
      const outcome = await Promise.race([
        new Promise<string>((resolve) => child.once('exit', () => resolve('crashed'))),
        waitFor(async () => (await effectsOf(consumer.db)).length === 15 && (await deadLetterCount(prefix)) === 1, {
          timeoutMs: 15_000,
          what: 'the healthy events and the dead letter'
        }).then(() => 'settled')
      ])
      if (outcome === 'settled') break
    }

    expect(crashes).toBeGreaterThan(0)
    expect(crashes).toBeLessThan(8)
    const effects = await effectsOf(consumer.db)
    expect(effects.every((row) => row.applications === 1)).toBe(true)
    expect(new Set(effects.map((row) => row.order_id))).toEqual(new Set(healthy.map((event) => event.data.orderId)))
    const connection = await amqplib.connect(AMQP)
    afterThisTest(() => connection.close())
    const channel = await connection.createChannel()
    const letter = await channel.get(consumerQueueNames(prefix, CONSUMER).deadLetterQueue, { noAck: true })
    expect(letter && letter.properties.messageId).toBe(poison.id)
    expect(letter && letter.properties.headers![DEAD_LETTER_HEADERS.error]).toMatch(/interrupted 2 times/)
  })
})

describe('shutdown', () => {
  it('cancels the consumer first: only the batches in flight finish, and what was not handled stays queued', async () => {
    const { prefix, publisher, consumer } = await twoServices({ consumerSettings: { amqp: { batchSize: 2, concurrency: 2, prefetch: 50 } } })
    consumer.bus.on('order.created', async (event, context) => {
      await sleep(100)
      await applyEffect(event, context)
    })
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()
    await emitInTransaction(publisher.bus, publisher.db, 100)
    await waitFor(async () => (await effectsOf(consumer.db)).length >= 4, { what: 'some events handled' })

    const handledAtStop = (await effectsOf(consumer.db)).length
    await consumer.bus.stop()
    const handled = (await effectsOf(consumer.db)).length
    // At most the two batches of two that were running; no new batch started from the 50 prefetched.
    expect(handled).toBeLessThanOrEqual(handledAtStop + 4)
    const connection = await amqplib.connect(AMQP)
    afterThisTest(() => connection.close())
    const channel = await connection.createChannel()
    await waitFor(async () => (await channel.checkQueue(consumerQueueNames(prefix, CONSUMER).queue)).messageCount === 100 - handled, {
      what: 'the unhandled events back in the queue'
    })
  })
})

describe('consumer queues declared by every service', () => {
  it('keeps an event published before its consumer service ever started, for that consumer', async () => {
    // The publisher is the only service that has run: it declared catalog-service's queue from the table.
    const { publisher, consumer } = await twoServices({ consumerService: 'catalog-service' })
    await publisher.bus.start()
    const [early] = await emitInTransaction(publisher.bus, publisher.db)
    await waitFor(async () => (await publisher.db('outbox').whereNull('sent_at').count({ n: '*' }))[0].n === 0, { what: 'published' })

    const handled: string[] = []
    for (const type of EVENT_CONSUMERS['catalog-service'] as readonly EventType[]) {
      consumer.bus.on(type, async (event) => void handled.push(event.id))
    }
    await consumer.bus.start()
    await waitFor(() => handled.includes(early.id), { what: 'the early event at its consumer' })
  })

  it('refuses to start a service whose handlers do not match its line in the table', async () => {
    const { consumer } = await twoServices({ consumerService: 'catalog-service' })
    consumer.bus.on('order.created', async () => undefined)
    await expect(consumer.bus.start()).rejects.toThrow(/listed but not handled: order.cancelled/)
  })
})

describe('side effects', () => {
  it('happen once when a batch-mate fails and the batch is handled again, with a stable id across retries', async () => {
    const { publisher, consumer } = await twoServices({ consumerSettings: { amqp: { batchSize: 10 } } })
    const calls: Array<{ id: string; key: string; attempt: number }> = []
    let failFirstCall = true
    consumer.bus.effects.perform<{ orderId: string }>('mail', async ({ id, key, attempt }) => {
      calls.push({ id, key, attempt })
      if (failFirstCall) {
        failFirstCall = false
        throw new Error('SMTP server said 421, try again later')
      }
    })
    const events = await publisher.db.transaction((trx) => publisher.bus.emitAll(trx, 'order.created', Array.from({ length: 5 }, orderCreated)))
    const failing = events[4].data.orderId
    consumer.bus.on('order.created', async (event, context) => {
      await context.schedule('mail', `order-created:${event.data.orderId}`, { orderId: event.data.orderId })
      if (event.data.orderId === failing) throw new Error('this one fails, after its batch-mates scheduled their mails')
    })
    await consumer.bus.start()
    await consumer.bus.whenConsuming()
    await publisher.bus.start()

    // 4 mails once each (one of them twice: failed, then retried with its id) and 1 after each of 3 attempts of the failing event: none.
    await waitFor(() => new Set(calls.map((call) => call.key)).size === 4 && calls.length === 5, { what: 'the mails' })
    await sleep(1_500)
    expect(calls).toHaveLength(5)
    const [first, retried] = calls.filter((call) => call.id === calls[0].id)
    expect(retried).toMatchObject({ id: first.id, key: first.key, attempt: 2 })
    expect(calls.map((call) => call.key)).not.toContain(`order-created:${failing}`)
    expect(await consumer.db('side_effects').where({ status: 'done' }).count({ n: '*' })).toEqual([{ n: 4 }])
  })

  it('are carried out by one instance when several run, and again with the same id after the lease when one dies mid-call', async () => {
    const { consumer, databases, prefix } = await twoServices()
    const second = await createTestBus({ service: CONSUMER, connection: databases[1], prefix, migrations: effectsMigrations })
    afterThisTest(async () => {
      await second.bus.stop()
      await second.db.destroy()
    })
    const calls: string[] = []
    let hangOnce = true
    for (const instance of [consumer, second]) {
      instance.bus.effects.perform('print', async ({ id }) => {
        calls.push(id)
        // An instance that froze mid-call: its claim expires after the lease (1 s here) and the effect runs again.
        if (hangOnce) {
          hangOnce = false
          await new Promise(() => undefined)
        }
      })
    }
    const ids = await consumer.db.transaction(async (trx) =>
      Promise.all(Array.from({ length: 20 }, (_, i) => consumer.bus.effects.schedule(trx, 'print', `job-${i}`, { i })))
    )
    await consumer.bus.start()
    await second.bus.start()
    await waitFor(async () => (await consumer.db('side_effects').where({ status: 'done' }).count({ n: '*' }))[0].n === 19, {
      what: 'the 19 that did not hang'
    })
    await waitFor(() => calls.length === 21, { what: 'the hung one, again after its lease', timeoutMs: 10_000 })
    expect(new Set(calls)).toEqual(new Set(ids))
    const repeated = calls.filter((id, index) => calls.indexOf(id) !== index)
    expect(repeated).toHaveLength(1)
  })

  it('are marked done again while the database refuses the mark (a restart): carried out once, not again after their lease', async () => {
    const { consumer } = await twoServices()
    const calls: string[] = []
    consumer.bus.effects.perform('mail', async ({ id }) => {
      calls.push(id)
      // The mark cannot be made until the column is back: past the lease (1 s here), the runner must still not run the effect again.
      if (calls.length === 1) await consumer.db.raw('ALTER TABLE side_effects RENAME COLUMN finished_at TO finished_at_away')
    })
    const id = await consumer.db.transaction((trx) => consumer.bus.effects.schedule(trx, 'mail', 'confirmation', {}))
    await consumer.bus.start()
    await waitFor(() => calls.length === 1, { what: 'the mail' })
    await sleep(2_500)
    await consumer.db.raw('ALTER TABLE side_effects RENAME COLUMN finished_at_away TO finished_at')
    await waitFor(async () => (await consumer.db('side_effects').where({ id }).first('status')).status === 'done', { what: 'the mark made' })
    await sleep(1_500)
    expect(calls).toEqual([id])
  })

  it('are concluded in the transaction that marks them done; those arriving while one commits together in the next, a failing one alone', async () => {
    const { consumer } = await twoServices()
    const { effects, db } = { effects: consumer.bus.effects, db: consumer.db }
    const keys = ['gate', 'a', 'b', 'c', 'd', 'e', 'failing']
    const scheduled = await db.transaction(async (trx) =>
      Promise.all(
        keys.map(async (key) => {
          const payload = { orderId: randomUUID() }
          return { id: await effects.schedule(trx, 'capture', key, payload, { delayMs: 60_000 }), kind: 'capture', key, payload, attempt: 1 }
        })
      )
    )
    const [gate, ...rest] = scheduled
    const apply = (effect: (typeof scheduled)[number]) => (trx: Knex.Transaction) => applyEffect({ data: effect.payload }, { trx })
    /** Concludes `effect` in a transaction held open until the returned `open` is called. */
    const holdOpen = async (effect: (typeof scheduled)[number]) => {
      let open: () => void = () => undefined
      let holding: () => void = () => undefined
      const held = new Promise<void>((resolve) => (holding = resolve))
      const concluded = effects.conclude(effect, async (trx) => {
        await apply(effect)(trx)
        holding()
        await new Promise<void>((resolve) => (open = resolve))
      })
      await held
      return { open: () => open(), concluded }
    }
    const first = await holdOpen(gate)
    // Arriving while the gate's transaction is open: concluded together once it has committed.
    const together = rest.slice(0, 5).map((effect) => effects.conclude(effect, apply(effect)))
    first.open()
    await Promise.all([first.concluded, ...together])
    const txOf = async (table: string, column: string, value: string) =>
      (
        await db(table)
          .where({ [column]: value })
          .first(db.raw('xmin::text AS tx'))
      ).tx as string
    const applied = await Promise.all(scheduled.slice(0, 6).map(({ payload }) => txOf('effects', 'order_id', payload.orderId)))
    const marked = await Promise.all(scheduled.slice(0, 6).map(({ id }) => txOf('side_effects', 'id', id)))
    expect(marked).toEqual(applied)
    expect(new Set(applied).size).toBe(2)
    expect(
      await db('side_effects')
        .whereIn(
          'id',
          scheduled.slice(0, 6).map(({ id }) => id)
        )
        .distinct()
        .pluck('status')
    ).toEqual(['done'])

    // A failing conclusion among them: it alone fails, the others are concluded each in a transaction of its own.
    const later = await db.transaction(async (trx) =>
      Promise.all(
        ['f', 'g', 'failing 2'].map(async (key) => {
          const payload = { orderId: randomUUID() }
          return { id: await effects.schedule(trx, 'capture', key, payload, { delayMs: 60_000 }), kind: 'capture', key, payload, attempt: 1 }
        })
      )
    )
    const gated = await holdOpen(rest[5])
    const outcomes = Promise.allSettled(
      later.map((effect) =>
        effects.conclude(effect, async (trx) => {
          await apply(effect)(trx)
          if (effect.key === 'failing 2') throw new Error('the provider answer does not fit the order')
        })
      )
    )
    gated.open()
    await gated.concluded
    expect((await outcomes).map(({ status }) => status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
    expect(
      await db('effects')
        .whereIn(
          'order_id',
          later.map(({ payload }) => payload.orderId)
        )
        .orderBy('order_id')
        .pluck('applications')
    ).toHaveLength(2)
    expect(
      await db('side_effects')
        .whereIn(
          'id',
          later.map(({ id }) => id)
        )
        .orderBy('key')
        .select('key', 'status')
    ).toEqual([
      { key: 'f', status: 'done' },
      { key: 'failing 2', status: 'pending' },
      { key: 'g', status: 'done' }
    ])
    const [f, g] = await Promise.all(later.slice(0, 2).map(({ id }) => txOf('side_effects', 'id', id)))
    expect(f).not.toBe(g)
  })

  it('concluded as a group, first take the locks their performers declare: a batch holding them is waited for, never deadlocked with', async () => {
    const { consumer } = await twoServices()
    const { effects, db } = { effects: consumer.bus.effects, db: consumer.db }
    const orders = { a: randomUUID(), b: randomUUID() }
    await db('effects').insert(Object.values(orders).map((order_id) => ({ order_id, applications: 0 })))
    effects.perform<{ orderId: string }>('capture', async () => undefined, { locks: ({ payload }) => [aggregateKey('order', payload.orderId)] })
    const scheduled = await db.transaction(async (trx) =>
      Promise.all(
        (['gate', 'a', 'b'] as const).map(async (key) => {
          const payload = { orderId: key === 'gate' ? randomUUID() : orders[key] }
          return { id: await effects.schedule(trx, 'capture', key, payload, { delayMs: 60_000 }), kind: 'capture', key, payload, attempt: 1 }
        })
      )
    )
    const lockRow = (trx: Knex.Transaction, orderId: string) => trx('effects').where({ order_id: orderId }).increment('applications', 1)
    const waitingForLocks = async () =>
      Number((await db.raw("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows[0].n)

    // A consumer's batch for b, then a: the locks its handlers declared at its start, then their rows in its own order.
    const batch = await db.transaction()
    await lockAggregates(batch, [aggregateKey('order', orders.a), aggregateKey('order', orders.b)])
    await lockRow(batch, orders.b)
    // The group's rows in the order of its keys (a, then b): undeclared, it would hold a while the batch holds b.
    const works: string[] = []
    // Arriving while another conclusion's transaction is open, a and b are concluded together next.
    let open: () => void = () => undefined
    let held: () => void = () => undefined
    const gateHeld = new Promise<void>((resolve) => (held = resolve))
    const gate = effects.conclude(scheduled[0], async () => {
      held()
      await new Promise<void>((resolve) => (open = resolve))
    })
    await gateHeld
    const group = scheduled.slice(1).map((effect) =>
      effects.conclude(effect, async (trx) => {
        works.push(effect.key)
        await lockRow(trx, effect.payload.orderId)
      })
    )
    open()
    await waitFor(async () => (await waitingForLocks()) === 1, { what: 'the group waiting for the batch' })
    await lockRow(batch, orders.a)
    await batch.commit()
    await Promise.all([gate, ...group])

    // Each concluded once, in one transaction: the group was never rolled back for a deadlock.
    expect(works).toEqual(['a', 'b'])
    expect(await db('effects').whereIn('order_id', Object.values(orders)).pluck('applications')).toEqual([2, 2])
    const marks = await db('side_effects')
      .whereIn(
        'id',
        scheduled.slice(1).map(({ id }) => id)
      )
      .select(db.raw('xmin::text AS tx'), 'status')
    expect(marks).toEqual([expect.objectContaining({ status: 'done' }), expect.objectContaining({ status: 'done' })])
    expect(new Set(marks.map(({ tx }) => tx)).size).toBe(1)
  })

  it('are scheduled several in one statement, of any kinds and delays: each carried out once, one already scheduled kept as it was', async () => {
    const { consumer } = await twoServices()
    const { effects } = consumer.bus
    const carried: Array<[string, unknown]> = []
    effects.perform<{ to: string }>('mail', async ({ key, payload }) => void carried.push([key, payload.to]))
    effects.perform<{ to: string }>('print', async ({ key, payload }) => void carried.push([key, payload.to]))
    effects.perform('timer', async ({ key }) => void carried.push([key, 'fired']))
    await consumer.db.transaction((trx) => effects.schedule(trx, 'mail', 'confirmation', { to: 'first' }))
    await consumer.db.transaction((trx) =>
      effects.scheduleAll(trx, [
        { kind: 'mail', key: 'confirmation', payload: { to: 'again' } },
        { kind: 'mail', key: 'notice', payload: { to: 'seller' } },
        { kind: 'print', key: 'notice', payload: { to: 'printer' } },
        { kind: 'timer', key: 'expiry', payload: {}, delayMs: 60_000 }
      ])
    )
    await consumer.bus.start()
    await waitFor(() => carried.length === 3, { what: 'three effects carried out' })
    expect(carried.sort()).toEqual([
      ['confirmation', 'first'],
      ['notice', 'printer'],
      ['notice', 'seller']
    ])
    expect(await consumer.db('side_effects').where({ status: 'done' }).count({ n: '*' })).toEqual([{ n: 3 }])
    // The timer waits for its moment: a minute from its commit.
    const [timer] = await consumer
      .db('side_effects')
      .where({ kind: 'timer' })
      .select('status', consumer.db.raw('extract(epoch FROM run_after - now()) AS "dueInSeconds"'))
    expect(timer.status).toBe('pending')
    expect(Number(timer.dueInSeconds)).toBeGreaterThan(50)
  })

  it('are dropped by unschedule while not begun; one begun is left to finish', async () => {
    const { consumer } = await twoServices()
    const { effects } = consumer.bus
    const calls: string[] = []
    let release: () => void = () => undefined
    effects.perform<{ key: string }>('reminder', async ({ key }) => {
      calls.push(key)
      if (key === 'begun') await new Promise<void>((resolve) => (release = resolve))
    })
    await consumer.db.transaction(async (trx) => {
      await effects.schedule(trx, 'reminder', 'begun', {})
      await effects.schedule(trx, 'reminder', 'later', {}, { delayMs: 60_000 })
      await effects.schedule(trx, 'reminder', 'kept', {}, { delayMs: 60_000 })
    })
    await consumer.bus.start()
    await waitFor(() => calls.includes('begun'), { what: 'the first reminder under way' })
    await consumer.db.transaction(async (trx) => {
      expect(await effects.unschedule(trx, ['reminder'], 'later')).toBe(1)
      expect(await effects.unschedule(trx, ['reminder'], 'begun')).toBe(0)
    })
    release()
    await waitFor(async () => (await consumer.db('side_effects').where({ key: 'begun', status: 'done' }).first()) !== undefined, {
      what: 'the begun one done'
    })
    expect(await consumer.db('side_effects').orderBy('key').pluck('key')).toEqual(['begun', 'kept'])
    expect(calls).toEqual(['begun'])
  })
})
