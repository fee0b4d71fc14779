import { randomUUID } from 'node:crypto'
import amqplib, { type ChannelModel } from 'amqplib'
import knex, { type Knex } from 'knex'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { consumerQueueNames, CONSUMERS, exchangeNames, EVENT_VERSION } from '@marketmesh/events'
import { AMQP, cleanUp, isolatedEnvironment, startServiceProcess, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { cli, cliInProcess } from './support/cli'
import { messageCount, snapshotQueue, type LetterSnapshot } from './support/dead-letters'

// catalog-service runs as its own process; its handler of user.registered fails for a reason of
// the test's making (a CHECK constraint on its sellers table), which the test then fixes.
const CONSUMER = 'catalog-service'
const env = { ...isolatedEnvironment('cli_dlq'), AMQP_URL: AMQP }
const { queue, deadLetterQueue } = consumerQueueNames(env.AMQP_PREFIX, CONSUMER)
const FROZEN_SHOP = 'Frozen Shop'

let connection: ChannelModel
let service: ServiceProcess
let db: Knex

const seller = {
  userId: randomUUID(),
  version: 1,
  email: 'frozen@example.com',
  name: 'Frida',
  role: 'seller',
  status: 'active',
  shopName: FROZEN_SHOP
}
const failing = {
  id: randomUUID(),
  type: 'user.registered',
  version: EVENT_VERSION,
  occurredAt: new Date().toISOString(),
  source: 'user-service',
  correlationId: randomUUID(),
  causationId: null,
  data: seller
}
const poisonId = randomUUID()
const invalidId = randomUUID()

const publish = async (routingKey: string, body: string, messageId: string) => {
  const channel = await connection.createConfirmChannel()
  channel.publish(exchangeNames(env.AMQP_PREFIX).events, routingKey, Buffer.from(body), {
    messageId,
    type: routingKey,
    persistent: true,
    contentType: 'application/json'
  })
  await channel.waitForConfirms()
  await channel.close()
}

const deadLetters = () => snapshotQueue(connection, deadLetterQueue)
const idsOf = (letters: LetterSnapshot[]) => letters.map((letter) => letter.id)

beforeAll(async () => {
  connection = await amqplib.connect(AMQP)
  service = await startServiceProcess(CONSUMER, env)
  await waitFor(async () => (await fetch(`${service.url}/ready`)).status === 200, { what: 'catalog-service ready' })
  db = knex({ client: 'pg', connection: env.DATABASE_URL, pool: { min: 0, max: 1 } })
  await db.raw(`ALTER TABLE sellers ADD CONSTRAINT mmtest_frozen CHECK ("shopName" <> '${FROZEN_SHOP}')`)
  // In this order in the dead-letter queue: the poison at once, the failing event after its two retries.
  await publish('order.created', 'this is not JSON', poisonId)
  await publish('order.cancelled', JSON.stringify({ id: invalidId, type: 'order.cancelled' }), invalidId)
  await waitFor(async () => (await messageCount(connection, deadLetterQueue)) === 2, { what: 'the poison messages dead-lettered' })
  await publish('user.registered', JSON.stringify(failing), failing.id)
  await waitFor(async () => (await messageCount(connection, deadLetterQueue)) === 3, { what: 'the failing event dead-lettered after its retries' })
  process.env.AMQP_URL = AMQP
  process.env.AMQP_PREFIX = env.AMQP_PREFIX
})

afterAll(async () => {
  service?.child.kill('SIGTERM')
  await service?.exited
  await db?.destroy()
  await connection?.close()
  await cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] })
})

describe('marketmesh dlq against a running catalog-service', () => {
  it('show prints a poison message and a failed handler’s event with their errors', async () => {
    const { code, stdout } = await cli(['dlq', 'show', CONSUMER], env)
    expect(code).toBe(0)
    expect(stdout).toContain(`${deadLetterQueue}: 3 dead letters`)
    expect(stdout).toMatch(new RegExp(`${poisonId} {2}order\\.created\\n {2}attempts: 1 {2}consumer: catalog-service`))
    expect(stdout).toMatch(/error: +body is not JSON/)
    expect(stdout).toMatch(/error: +invalid envelope/)
    // The handler's own error, after the first try and the two retries.
    expect(stdout).toMatch(
      new RegExp(`${failing.id} {2}user\\.registered\\n {2}attempts: 3 .*\\n {2}error: +.*violates check constraint "mmtest_frozen"`)
    )
  })

  it('show, run 50 times with and without filters, leaves every letter in place and in its order', async () => {
    const before = await deadLetters()
    expect(idsOf(before)).toEqual([poisonId, invalidId, failing.id])
    const variants = [
      ['dlq', 'show', CONSUMER],
      ['dlq', 'show', CONSUMER, '--limit', '1'],
      ['dlq', 'show', CONSUMER, '--type', 'user.registered', '--json'],
      ['dlq', 'show', CONSUMER, '--error', 'JSON', '--since', '1h'],
      ['dlq', 'list', '--json']
    ]
    for (let run = 0; run < 50; run++) {
      const { code, stdout } = await cliInProcess(variants[run % variants.length])
      expect(code).toBe(0)
      expect(stdout).not.toBe('')
    }
    expect(await deadLetters()).toEqual(before)

    const json = await cliInProcess(['dlq', 'show', CONSUMER, '--type', 'user.registered', '--json'])
    const lines = json.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(lines).toEqual([expect.objectContaining({ messageId: failing.id, eventType: 'user.registered', attempts: 3, body: failing })])
    expect(lines[0].error).toContain('violates check constraint')
    const errorFilter = await cliInProcess(['dlq', 'show', CONSUMER, '--error', 'json', '--json'])
    expect(
      errorFilter.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).messageId)
    ).toEqual([poisonId])
  })

  it('list counts the letters per type and per error, and gives the age of the oldest', async () => {
    const { code, stdout } = await cli(['dlq', 'list', '--json'], env)
    expect(code).toBe(0)
    const summaries = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line))
    expect(summaries.map((summary) => summary.consumer)).toEqual(CONSUMERS)
    const catalog = summaries.find((summary) => summary.consumer === CONSUMER)
    expect(catalog).toMatchObject({
      queue: deadLetterQueue,
      declared: true,
      depth: 3,
      byType: { 'order.created': 1, 'order.cancelled': 1, 'user.registered': 1 }
    })
    expect(Object.entries(catalog.byError).find(([error]) => error.startsWith('body is not JSON'))?.[1]).toBe(1)
    expect(catalog.oldestAgeSeconds).toBeGreaterThanOrEqual(0)
    expect(summaries.find((summary) => summary.consumer === 'user-service')).toMatchObject({ declared: false, depth: 0 })
    const text = await cli(['dlq', 'list'], env)
    expect(text.stdout).toMatch(new RegExp(`catalog-service +${deadLetterQueue.replace(/\./g, '\\.')} +3 +\\d+s ago`))
    expect(text.stdout).toContain('1 × user.registered')
  })

  it('redrive --dry-run lists what would move and moves nothing; without --yes it refuses when stdin is not a terminal', async () => {
    const before = await deadLetters()
    const dryRun = await cli(['dlq', 'redrive', CONSUMER, '--type', 'user.registered', '--dry-run'], env)
    expect(dryRun.code).toBe(0)
    expect(dryRun.stdout).toContain(`${failing.id}  user.registered`)
    expect(dryRun.stdout).toContain('would move 1 dead letter of 3')
    const unconfirmed = await cli(['dlq', 'redrive', CONSUMER, '--type', 'user.registered'], env)
    expect(unconfirmed.code).toBe(1)
    expect(unconfirmed.stderr).toMatch(/stdin is not a terminal.*--yes/)
    expect(await deadLetters()).toEqual(before)
    expect(await messageCount(connection, queue)).toBe(0)
  })

  it('redrive --type moves only that type, and the consumer processes it once the cause is fixed', async () => {
    await db.raw('ALTER TABLE sellers DROP CONSTRAINT mmtest_frozen')
    const { code, stdout } = await cli(['dlq', 'redrive', CONSUMER, '--type', 'user.registered', '--yes'], env)
    expect(code).toBe(0)
    expect(stdout).toMatch(/^moved 1 dead letter \(type user\.registered\) from .* back to .* in [\d.]+ s.*; 2 letters left in /)
    const [row] = await waitFor(
      async () => {
        const rows = await db('sellers').where({ id: seller.userId })
        return rows.length > 0 && rows
      },
      { what: 'the redriven event handled' }
    )
    expect(row).toMatchObject({ shopName: FROZEN_SHOP, status: 'active' })
    expect(idsOf(await deadLetters())).toEqual([poisonId, invalidId])
  })

  it('purge with a filter removes only the letters that match', async () => {
    const refused = await cli(['dlq', 'purge', CONSUMER, '--type', 'order.cancelled'], env)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('--yes')
    const { code, stdout } = await cli(['dlq', 'purge', CONSUMER, '--type', 'order.cancelled', '--yes'], env)
    expect(code).toBe(0)
    expect(stdout).toContain(`purged 1 dead letter (type order.cancelled) from ${deadLetterQueue}; 1 left`)
    expect(idsOf(await deadLetters())).toEqual([poisonId])
  })

  it('rejects an unknown consumer, naming the valid ones', async () => {
    for (const command of ['show', 'redrive', 'purge']) {
      const { code, stderr } = await cli(['dlq', command, 'billing-service', ...(command === 'show' ? [] : ['--yes'])], env)
      expect(code).toBe(1)
      expect(stderr).toContain("'billing-service'")
      for (const consumer of CONSUMERS) expect(stderr).toContain(consumer)
      expect(stderr).not.toMatch(/^\s+at /m)
    }
  })

  it('names the setting of a broker it cannot reach', async () => {
    const { code, stderr } = await cli(['dlq', 'list'], { ...env, AMQP_URL: 'amqp://guest:secret@127.0.0.1:1' })
    expect(code).toBe(1)
    expect(stderr).toMatch(/^marketmesh: cannot connect to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1 \(set by --amqp-url or AMQP_URL\)/)
  })
})
