import { execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import amqplib, { type ChannelModel, type GetMessage } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ATTEMPT_HEADER,
  Broker,
  consumerQueueNames,
  CONSUMERS,
  createEventMetrics,
  createLogger,
  createMetricsRegistry,
  DEAD_LETTER_HEADERS,
  EventConsumer,
  exchangeNames
} from '@marketmesh/shared'

// Runs the built CLI (`npx tsc -b` first, as `npm test` does).
const CLI = join(__dirname, '..', 'lib', 'index.js')
const AMQP = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const PREFIX = `mmtest.cli.${randomBytes(4).toString('hex')}`
const CONSUMER = 'catalog-service'
const { queue, deadLetterQueue } = consumerQueueNames(PREFIX, CONSUMER)

const cli = (...args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, AMQP_URL: AMQP, AMQP_PREFIX: PREFIX } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr })
    )
  )

let connection: ChannelModel

const messageCount = async (name: string) => {
  const channel = await connection.createChannel()
  channel.on('error', () => {})
  try {
    return (await channel.checkQueue(name)).messageCount
  } finally {
    await channel.close().catch(() => {})
  }
}

const waitFor = async (check: () => Promise<boolean>, what: string) => {
  const deadline = Date.now() + 20_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Every message now in `name`, left in place. */
const peekAll = async (name: string) => {
  const channel = await connection.createChannel()
  const messages: GetMessage[] = []
  for (let message = await channel.get(name); message; message = await channel.get(name)) messages.push(message)
  await channel.close()
  return messages
}

/**
 * Runs the services' own EventConsumer for catalog-service on the test prefix until its dead-letter
 * queue holds `deadLetters`: it declares the topology and dead-letters what fails its schema itself.
 */
const runRealConsumer = async (deadLetters: number, publish: (broker: Broker) => Promise<void> = async () => {}) => {
  const logger = createLogger({ name: 'dlq-test', level: 'silent' })
  // Only the handler this test needs, so the consumer matches its line.
  const consumers = { [CONSUMER]: ['order.created'] as const }
  const broker = new Broker({ url: AMQP, prefix: PREFIX, publishTimeoutMs: 5_000, logger, connectionName: 'dlq test', consumers, retryDelaysMs: [] })
  broker.start()
  const consumer = new EventConsumer({
    consumer: CONSUMER,
    prefix: PREFIX,
    // Events that fail their schema are dead-lettered before any database work.
    db: undefined as never,
    broker,
    consumers,
    prefetch: 10,
    concurrency: 1,
    batchSize: 10,
    retryDelaysMs: [],
    crashLimit: 5,
    dedupeRetentionHours: 1,
    logger,
    metrics: createEventMetrics(createMetricsRegistry('dlq-test')),
    effects: undefined as never,
    emit: async () => {
      throw new Error('the test consumer emits nothing')
    }
  })
  consumer.on('order.created', async () => {
    throw new Error('every test event fails its schema before reaching a handler')
  })
  await consumer.start()
  // Bound, not only declared: a message published in between would be routed to no queue.
  await consumer.whenConsuming()
  await publish(broker)
  await waitFor(async () => (await messageCount(deadLetterQueue)) === deadLetters, `${deadLetters} dead letters`)
  await consumer.stop()
  await broker.close()
}

const ids = [randomUUID(), randomUUID(), randomUUID()]
const bodies = [
  'this is not JSON',
  JSON.stringify({ id: ids[1], type: 'order.created' }),
  JSON.stringify({
    id: ids[2],
    type: 'order.created',
    version: 1,
    occurredAt: new Date().toISOString(),
    source: 'order-service',
    correlationId: randomUUID(),
    causationId: null,
    data: { note: 'no order in here' }
  })
]

beforeAll(async () => {
  connection = await amqplib.connect(AMQP)
  await runRealConsumer(3, async (broker) => {
    for (const [index, body] of bodies.entries()) {
      await broker.publish(broker.exchanges.events, 'order.created', Buffer.from(body), {
        messageId: ids[index],
        type: 'order.created',
        contentType: 'application/json',
        headers: { 'x-request-id': `request-${index}` }
      })
    }
  })
})

afterAll(async () => {
  const channel = await connection.createChannel()
  await channel.deleteQueue(queue)
  await channel.deleteQueue(deadLetterQueue)
  const exchanges = exchangeNames(PREFIX)
  await channel.deleteExchange(exchanges.events)
  await channel.deleteExchange(exchanges.deadLetters)
  await connection.close()
})

describe('marketmesh dlq', () => {
  it("list shows each consumer's dead-letter queue with its count, and undeclared ones as such", async () => {
    const { code, stdout } = await cli('dlq', 'list')
    expect(code).toBe(0)
    const lines = stdout.trim().split('\n').slice(1)
    expect(lines).toHaveLength(CONSUMERS.length)
    expect(lines.find((line) => line.startsWith('catalog-service'))).toMatch(new RegExp(`${deadLetterQueue.replace(/\./g, '\\.')}\\s+3$`))
    expect(lines.find((line) => line.startsWith('user-service'))).toMatch(/\.user-service\.dlq\s+0 \(not declared\)$/)
  })

  it('show prints every dead letter with its error, and removes none', async () => {
    const { code, stdout } = await cli('dlq', 'show', CONSUMER)
    expect(code).toBe(0)
    expect(stdout).toContain(`${deadLetterQueue}: 3 dead letters`)
    for (const id of ids) expect(stdout).toContain(`${id}  order.created`)
    expect(stdout).toMatch(/error: +body is not JSON/)
    expect(stdout).toMatch(/error: +invalid envelope/)
    expect(stdout).toMatch(/error: +invalid order\.created/)
    expect(stdout.match(/attempts: 1 {2}consumer: catalog-service {2}failed at: \d{4}-\d\d-\d\dT/g)).toHaveLength(3)
    expect(stdout).toContain('this is not JSON')
    expect(await messageCount(deadLetterQueue)).toBe(3)

    const json = await cli('dlq', 'show', CONSUMER, '--json', '--limit', '2')
    const letters = JSON.parse(json.stdout)
    expect(letters).toHaveLength(2)
    expect(letters[0]).toMatchObject({ eventType: 'order.created', attempts: 1, consumer: CONSUMER, error: expect.any(String) })
    expect(await messageCount(deadLetterQueue)).toBe(3)
  })

  it("redrive --id moves exactly that dead letter back to the consumer's queue, as a first attempt", async () => {
    const { code, stdout } = await cli('dlq', 'redrive', CONSUMER, '--id', ids[1])
    expect(code).toBe(0)
    expect(stdout).toContain(`redriven 1 of 3 dead letters from ${deadLetterQueue}`)
    expect(await messageCount(deadLetterQueue)).toBe(2)
    const [moved, ...others] = await peekAll(queue)
    expect(others).toHaveLength(0)
    expect(moved.properties.messageId).toBe(ids[1])
    expect(moved.content.toString()).toBe(bodies[1])
    expect(moved.properties).toMatchObject({ type: 'order.created', contentType: 'application/json', deliveryMode: 2 })
    const headers = moved.properties.headers!
    expect(headers[ATTEMPT_HEADER]).toBe(1)
    expect(headers).not.toHaveProperty(DEAD_LETTER_HEADERS.error)
    expect(headers).not.toHaveProperty(DEAD_LETTER_HEADERS.attempts)
    expect(headers).not.toHaveProperty(DEAD_LETTER_HEADERS.failedAt)
    expect(headers).toMatchObject({ [DEAD_LETTER_HEADERS.routingKey]: 'order.created', 'x-request-id': 'request-1' })
    expect((await peekAll(deadLetterQueue)).map((message) => message.properties.messageId).sort()).toEqual([ids[0], ids[2]].sort())
  })

  it('purge refuses without --yes and deletes nothing', async () => {
    const { code, stderr } = await cli('dlq', 'purge', CONSUMER)
    expect(code).toBe(1)
    expect(stderr).toContain('--yes')
    expect(await messageCount(deadLetterQueue)).toBe(2)
  })

  it('redrive moves the rest', async () => {
    const { code, stdout } = await cli('dlq', 'redrive', CONSUMER)
    expect(code).toBe(0)
    expect(stdout).toContain(`redriven 2 of 2 dead letters from ${deadLetterQueue}`)
    expect(await messageCount(deadLetterQueue)).toBe(0)
    const moved = await peekAll(queue)
    expect(moved.map((message) => message.properties.messageId).sort()).toEqual([...ids].sort())
    for (const message of moved) {
      expect(message.properties.headers![ATTEMPT_HEADER]).toBe(1)
      expect(message.properties.headers).not.toHaveProperty(DEAD_LETTER_HEADERS.error)
    }
  })

  it('purge --yes deletes the dead letters that came back', async () => {
    // The consumer gets the redriven events again; they still fail their schema and return to the DLQ.
    await runRealConsumer(3)
    expect(await messageCount(queue)).toBe(0)
    const { code, stdout } = await cli('dlq', 'purge', CONSUMER, '--yes')
    expect(code).toBe(0)
    expect(stdout).toContain(`purged 3 dead letters from ${deadLetterQueue}`)
    expect(await messageCount(deadLetterQueue)).toBe(0)
  })

  it('rejects an unknown consumer, naming the valid ones', async () => {
    for (const command of ['show', 'redrive', 'purge']) {
      const { code, stderr } = await cli('dlq', command, 'billing-service', ...(command === 'purge' ? ['--yes'] : []))
      expect(code).toBe(1)
      expect(stderr).toContain("'billing-service'")
      for (const consumer of CONSUMERS) expect(stderr).toContain(consumer)
      expect(stderr).not.toMatch(/^\s+at /m)
    }
  })
})
