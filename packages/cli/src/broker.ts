import { connect, type ChannelModel } from 'amqplib'
import { Option, type Command } from 'commander'
import { redactUrl } from '@marketmesh/shared/ops'

export interface BrokerOptions {
  amqpUrl: string
  prefix: string
}

/** --amqp-url and --prefix, defaulting to the AMQP_URL and AMQP_PREFIX the services read. */
export const addBrokerOptions = (command: Command) =>
  command
    .addOption(new Option('--amqp-url <url>', 'RabbitMQ to connect to').env('AMQP_URL').default('amqp://guest:guest@127.0.0.1:5672'))
    .addOption(new Option('--prefix <prefix>', 'prefix of the exchange and queue names').env('AMQP_PREFIX').default('marketmesh'))

/** Runs `work` on its own connection and closes it afterwards, whatever happens, so the process can exit. */
export const withConnection = async <T>(url: string, work: (connection: ChannelModel) => Promise<T>): Promise<T> => {
  let connection: ChannelModel
  try {
    connection = await connect(url, { clientProperties: { connection_name: 'marketmesh cli' } })
  } catch (error) {
    throw new Error(`cannot connect to RabbitMQ at ${redactUrl(url)} (set by --amqp-url or AMQP_URL): ${(error as Error).message}`)
  }
  // Without a listener a connection error would crash the process with a stack trace; the pending operation reports it instead.
  connection.on('error', () => {})
  try {
    return await work(connection)
  } finally {
    await connection.close().catch(() => {})
  }
}

export interface QueueState {
  messages: number
  consumers: number
}

/** How many messages are ready in `queue` and how many consumers it has, or undefined when it is not declared. */
export const queueState = async (connection: ChannelModel, queue: string): Promise<QueueState | undefined> => {
  // A missing queue answers 404 and closes the channel it was asked on, so every check gets a throwaway one.
  const channel = await connection.createChannel()
  channel.on('error', () => {})
  try {
    const { messageCount, consumerCount } = await channel.checkQueue(queue)
    return { messages: messageCount, consumers: consumerCount }
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined
    throw error
  } finally {
    await channel.close().catch(() => {})
  }
}
