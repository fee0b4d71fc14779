import { randomUUID } from 'node:crypto'
import amqplib, { type ChannelModel } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ATTEMPT_HEADER,
  consumerQueueNames,
  DEAD_LETTER_HEADERS,
  declareTopology,
  EVENT_CONSUMERS,
  exchangeNames,
  REDRIVE_HEADER
} from '@marketmesh/events'
import { AMQP, cleanUp, isolatedEnvironment, waitFor } from '@marketmesh/test-support'
import { cli, spawnCli } from './support/cli'
import { messageCount, snapshotQueue } from './support/dead-letters'

// No consumer runs: what the redrive moves waits in catalog-service's queue, where the test reads it.
const CONSUMER = 'catalog-service'
const env = { AMQP_URL: AMQP, AMQP_PREFIX: isolatedEnvironment('cli_redrive').AMQP_PREFIX }
const { queue, deadLetterQueue } = consumerQueueNames(env.AMQP_PREFIX, CONSUMER)

let connection: ChannelModel

// Every fourth letter is of another type, which the redrive leaves where it is.
const letters = Array.from({ length: 400 }, (_, index) => ({
  id: randomUUID(),
  type: index % 4 === 3 ? 'user.updated' : 'order.created'
}))
const moving = letters.filter((letter) => letter.type === 'order.created').map((letter) => letter.id)
const staying: string[] = letters.filter((letter) => letter.type === 'user.updated').map((letter) => letter.id)

beforeAll(async () => {
  connection = await amqplib.connect(AMQP)
  const channel = await connection.createConfirmChannel()
  await declareTopology(channel, { prefix: env.AMQP_PREFIX, retryDelaysMs: [] }, { [CONSUMER]: EVENT_CONSUMERS[CONSUMER] })
  for (const { id, type } of letters) {
    channel.publish(exchangeNames(env.AMQP_PREFIX).deadLetters, CONSUMER, Buffer.from(JSON.stringify({ id, type })), {
      messageId: id,
      type,
      persistent: true,
      headers: {
        [ATTEMPT_HEADER]: 3,
        [DEAD_LETTER_HEADERS.error]: 'stock service timed out',
        [DEAD_LETTER_HEADERS.attempts]: 3,
        [DEAD_LETTER_HEADERS.consumer]: CONSUMER,
        [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
        [DEAD_LETTER_HEADERS.routingKey]: type,
        'x-request-id': `request-${id}`
      }
    })
  }
  await channel.waitForConfirms()
  await channel.close()
})

afterAll(async () => {
  await connection?.close()
  await cleanUp({ prefix: env.AMQP_PREFIX })
})

describe('marketmesh dlq redrive', () => {
  it('killed with SIGKILL midway loses no letter: each is in the dead-letter queue or moved, and a second run moves the rest', async () => {
    const redrive = spawnCli(['dlq', 'redrive', CONSUMER, '--type', 'order.created', '--rate', '100/s', '--yes'], env)
    await waitFor(async () => (await messageCount(connection, queue)) >= 50, { what: 'the redrive under way', timeoutMs: 30_000 })
    redrive.child.kill('SIGKILL')
    expect(await redrive.exited).toBeNull()

    const moved = await snapshotQueue(connection, queue)
    const left = await snapshotQueue(connection, deadLetterQueue)
    expect(moved.length).toBeLessThan(moving.length)
    const everywhere = new Set([...moved, ...left].map((letter) => letter.id))
    for (const { id } of letters) expect(everywhere.has(id)).toBe(true)
    // The letters that do not match are all still there, in their order.
    expect(left.map((letter) => letter.id).filter((id) => staying.includes(id!))).toEqual(staying)

    // Moved as a first delivery: same id, body and request id, attempt 1, one redrive, no failure headers.
    for (const letter of moved) {
      expect(letter.body).toBe(JSON.stringify({ id: letter.id, type: 'order.created' }))
      expect(letter.headers).toMatchObject({ [ATTEMPT_HEADER]: 1, [REDRIVE_HEADER]: 1, 'x-request-id': `request-${letter.id}` })
      expect(letter.headers).toMatchObject({ [DEAD_LETTER_HEADERS.routingKey]: 'order.created', [DEAD_LETTER_HEADERS.consumer]: CONSUMER })
      for (const header of [DEAD_LETTER_HEADERS.error, DEAD_LETTER_HEADERS.attempts, DEAD_LETTER_HEADERS.failedAt])
        expect(letter.headers).not.toHaveProperty(header)
    }

    const rest = await cli(['dlq', 'redrive', CONSUMER, '--type', 'order.created', '--yes'], env)
    expect(rest.stderr).toBe('')
    expect(rest.code).toBe(0)
    expect(rest.stdout).toMatch(new RegExp(`^moved ${left.length - staying.length} dead letters? \\(type order\\.created\\)`))
    expect((await snapshotQueue(connection, deadLetterQueue)).map((letter) => letter.id)).toEqual(staying)
    // A letter confirmed but not yet acked when the first run died is moved twice: the consumer's dedupe absorbs it.
    expect(new Set((await snapshotQueue(connection, queue)).map((letter) => letter.id))).toEqual(new Set(moving))
  })

  it('reports what is left where and exits 1 when the queue it moves letters to is gone', async () => {
    const channel = await connection.createChannel()
    await channel.deleteQueue(queue)
    await channel.close()
    const { code, stderr } = await cli(['dlq', 'redrive', CONSUMER, '--yes'], env)
    expect(code).toBe(1)
    expect(stderr).toContain(`${queue} is not declared`)
    expect(await messageCount(connection, deadLetterQueue)).toBe(staying.length)
  })
})
