import type { Channel, ChannelModel, ConfirmChannel, Message, Options } from 'amqplib'
import { Presets, SingleBar } from 'cli-progress'
import { Argument, InvalidArgumentError, type Command } from 'commander'
import { consumerQueueNames, CONSUMERS } from '@marketmesh/shared'
import { addBrokerOptions, queueMessageCount, withConnection, type BrokerOptions } from '../broker'
import { describeDeadLetter, formatDeadLetter, redriveOptions } from '../dead-letter'

const consumerArgument = () => new Argument('<consumer>', 'the consuming service').choices(CONSUMERS)

const positiveInteger = (value: string) => {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('expected a whole number of at least 1')
  return number
}

const print = (line: string) => process.stdout.write(`${line}\n`)

/** Requeues every message the channel still holds, then closes it. */
const releaseAndClose = async (channel: Channel) => {
  try {
    channel.nackAll(true)
  } catch {
    // The channel is already closed, and closing requeues what it held.
  }
  await channel.close().catch(() => {})
}

/**
 * Takes up to `limit` dead letters off the queue and hands them all back: holding them unacked makes
 * each get() move on to the next, and the requeue at the end removes nothing.
 */
const peek = async (connection: ChannelModel, queue: string, limit: number) => {
  const channel = await connection.createChannel()
  channel.on('error', () => {})
  const messages: Message[] = []
  try {
    while (messages.length < limit) {
      const message = await channel.get(queue, { noAck: false })
      if (!message) break
      messages.push(message)
    }
    return messages.map(describeDeadLetter)
  } finally {
    await releaseAndClose(channel)
  }
}

const publishConfirmed = (channel: ConfirmChannel, queue: string, message: Message, options: Options.Publish) =>
  new Promise<void>((resolve, reject) =>
    channel.publish('', queue, message.content, options, (error) =>
      error ? reject(new Error(`RabbitMQ refused the message for ${queue} (is it full?)`)) : resolve()
    )
  )

interface RedriveRequest {
  queue: string
  deadLetterQueue: string
  total: number
  /** How many to move; with `id`, only the dead letter of that message id moves. */
  limit: number
  id?: string
}

/**
 * Republishes each dead letter to its consumer's queue and acks it only once the broker has confirmed
 * the copy: a crash in between leaves a duplicate, which the consumer's dedupe absorbs, never a loss.
 */
const redrive = async (connection: ChannelModel, request: RedriveRequest) => {
  const { queue, deadLetterQueue, total, limit, id } = request
  const channel = await connection.createConfirmChannel()
  channel.on('error', () => {})
  let returned = false
  channel.on('return', () => (returned = true))
  const bar = process.stdout.isTTY
    ? new SingleBar({ format: 'redriving [{bar}] {value}/{total}', stream: process.stdout }, Presets.shades_classic)
    : undefined
  bar?.start(limit, 0)
  let moved = 0
  let failure: Error | undefined
  try {
    // At most `total` looks: a dead letter that fails again while this runs waits for the next redrive.
    for (let looked = 0; looked < total && moved < limit; looked++) {
      const message = await channel.get(deadLetterQueue, { noAck: false })
      if (!message) break
      // Skipped letters stay unacked until the end, so get() moves past them; then they are requeued.
      if (id !== undefined && message.properties.messageId !== id) continue
      returned = false
      await publishConfirmed(channel, queue, message, redriveOptions(message))
      // The broker sends the return of an unroutable message before its confirm.
      if (returned) throw new Error(`${queue} no longer exists; the dead letter stays in ${deadLetterQueue}`)
      channel.ack(message)
      moved += 1
      bar?.increment()
    }
  } catch (error) {
    failure = error as Error
  } finally {
    bar?.stop()
    await releaseAndClose(channel)
  }
  return { moved, failure }
}

export const registerDlqCommands = (program: Command) => {
  const dlq = program.command('dlq').description("Inspect, redrive and purge the event consumers' dead letters")

  addBrokerOptions(dlq.command('list').description("Show every consumer's dead-letter queue and how many messages wait in it")).action(
    async (options: BrokerOptions) => {
      const rows = await withConnection(options.amqpUrl, (connection) =>
        Promise.all(
          CONSUMERS.map(async (consumer) => {
            const queue = consumerQueueNames(options.prefix, consumer).deadLetterQueue
            return { consumer, queue, count: await queueMessageCount(connection, queue) }
          })
        )
      )
      const queueWidth = Math.max(...rows.map((row) => row.queue.length))
      print(`${'consumer'.padEnd(16)}  ${'dead-letter queue'.padEnd(queueWidth)}  messages`)
      for (const { consumer, queue, count } of rows) {
        print(`${consumer.padEnd(16)}  ${queue.padEnd(queueWidth)}  ${count ?? '0 (not declared)'}`)
      }
    }
  )

  addBrokerOptions(
    dlq
      .command('show')
      .description('Print dead letters without removing them (each one printed goes to the back of the queue)')
      .addArgument(consumerArgument())
      .option('--limit <n>', 'how many to print', positiveInteger, 10)
      .option('--json', 'print them as JSON, bodies whole')
  ).action(async (consumer: string, options: BrokerOptions & { limit: number; json?: boolean }) => {
    const queue = consumerQueueNames(options.prefix, consumer).deadLetterQueue
    const { total, letters } = await withConnection(options.amqpUrl, async (connection) => {
      const total = (await queueMessageCount(connection, queue)) ?? 0
      return { total, letters: total === 0 ? [] : await peek(connection, queue, options.limit) }
    })
    if (options.json) {
      print(JSON.stringify(letters, null, 2))
      return
    }
    print(`${queue}: ${total} dead letter${total === 1 ? '' : 's'}${letters.length < total ? `, showing ${letters.length}` : ''}`)
    for (const letter of letters) print(`\n${formatDeadLetter(letter)}`)
  })

  addBrokerOptions(
    dlq
      .command('redrive')
      .description("Move dead letters back to the consumer's queue for another try")
      .addArgument(consumerArgument())
      .option('--limit <n>', 'move at most this many (default: all)', positiveInteger)
      .option('--id <messageId>', 'move only the dead letter with this message id')
  ).action(async (consumer: string, options: BrokerOptions & { limit?: number; id?: string }) => {
    const { queue, deadLetterQueue } = consumerQueueNames(options.prefix, consumer)
    const { moved, total, failure } = await withConnection(options.amqpUrl, async (connection) => {
      const total = (await queueMessageCount(connection, deadLetterQueue)) ?? 0
      if (total === 0) return { moved: 0, total, failure: undefined }
      if ((await queueMessageCount(connection, queue)) === undefined) {
        throw new Error(`${queue} is not declared: start ${consumer} once so it declares its queue, then redrive`)
      }
      const limit = options.id === undefined ? Math.min(options.limit ?? total, total) : 1
      return { total, ...(await redrive(connection, { queue, deadLetterQueue, total, limit, id: options.id })) }
    })
    print(`redriven ${moved} of ${total} dead letters from ${deadLetterQueue}`)
    if (failure) throw failure
    if (options.id !== undefined && moved === 0) throw new Error(`no dead letter with message id ${options.id} in ${deadLetterQueue}`)
  })

  addBrokerOptions(
    dlq
      .command('purge')
      .description('Delete every dead letter of a consumer, for good')
      .addArgument(consumerArgument())
      .option('--yes', 'confirm the deletion')
  ).action(async (consumer: string, options: BrokerOptions & { yes?: boolean }) => {
    const queue = consumerQueueNames(options.prefix, consumer).deadLetterQueue
    if (!options.yes) throw new Error(`purge deletes the dead letters in ${queue} for good; run it again with --yes`)
    const purged = await withConnection(options.amqpUrl, async (connection) => {
      if ((await queueMessageCount(connection, queue)) === undefined) return 0
      const channel = await connection.createChannel()
      try {
        return (await channel.purgeQueue(queue)).messageCount
      } finally {
        await channel.close().catch(() => {})
      }
    })
    print(`purged ${purged} dead letters from ${queue}`)
  })

  return dlq
}
