import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager'
import type { ConfirmChannel, Options } from 'amqplib'
import type { Logger } from 'pino'
import { redactUrl } from './redact'
import { declareTopology, exchangeNames, type ConsumerTable, type QueueType } from './topology'

export interface BrokerOptions {
  url: string
  prefix: string
  publishTimeoutMs: number
  logger: Logger
  /** Shown in the RabbitMQ management UI as the connection name. */
  connectionName: string
  /** Every consumer's queue is declared by every service (see EVENT_CONSUMERS). */
  consumers: ConsumerTable
  retryDelaysMs: number[]
  queueType: QueueType
}

/**
 * One connection per process, managed by amqp-connection-manager: it reconnects by itself and
 * re-runs every channel's setup (topology, consumers) after a reconnect.
 */
export class Broker {
  readonly exchanges: ReturnType<typeof exchangeNames>
  private managed?: { connection: AmqpConnectionManager; publisher: ChannelWrapper }
  // Connected is not enough to be ready: an event published before the queues are bound is lost.
  private topologyDeclared = false

  constructor(private readonly options: BrokerOptions) {
    this.exchanges = exchangeNames(options.prefix)
  }

  /** Connects (in the background: amqp-connection-manager keeps retrying while the broker is down). */
  start() {
    const { url, connectionName, logger, publishTimeoutMs } = this.options
    const connection = amqp.connect([url], {
      heartbeatIntervalInSeconds: 5,
      reconnectTimeInSeconds: 1,
      connectionOptions: { clientProperties: { connection_name: connectionName } }
    })
    connection.on('connect', () => logger.info({ broker: redactUrl(url) }, 'broker connected'))
    connection.on('disconnect', ({ err }) => {
      this.topologyDeclared = false
      logger.warn({ broker: redactUrl(url), err: err?.message }, 'broker disconnected')
    })
    connection.on('connectFailed', ({ err }) => logger.debug({ broker: redactUrl(url), err: err?.message }, 'broker connection failed'))
    // Confirmed publishing: a publish resolves only once the broker has taken the message.
    const publisher = connection.createChannel({
      name: 'publisher',
      confirm: true,
      json: false,
      publishTimeout: publishTimeoutMs,
      setup: (channel: ConfirmChannel) => this.declareTopology(channel)
    })
    publisher.on('connect', () => (this.topologyDeclared = true))
    publisher.on('error', (error: Error) => {
      // A setup cut short by close() is no error.
      if (this.managed) logger.error({ err: error.message }, 'publisher channel error')
    })
    this.managed = { connection, publisher }
  }

  get connection() {
    if (!this.managed) throw new Error('The broker connection is not started')
    return this.managed.connection
  }

  declareTopology(channel: ConfirmChannel) {
    const { prefix, retryDelaysMs, queueType, consumers } = this.options
    return declareTopology(channel, { prefix, retryDelaysMs, queueType }, consumers)
  }

  /** Connected, with every consumer's queue declared and bound. */
  isConnected() {
    return this.topologyDeclared && (this.managed?.connection.isConnected() ?? false)
  }

  /** Resolves once connected with the topology declared; rejects after `timeoutMs`. */
  async whenReady(timeoutMs: number) {
    const { publisher } = this.managed ?? {}
    if (!publisher) throw new Error('The broker connection is not started')
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`RabbitMQ unreachable at ${redactUrl(this.options.url)} after ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      await Promise.race([publisher.waitForConnect(), timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Calls `listener` on every (re)connect of the publisher channel. */
  onConnect(listener: () => void) {
    this.managed?.publisher.on('connect', listener)
  }

  publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish) {
    if (!this.managed) return Promise.reject(new Error('The broker connection is not started'))
    return this.managed.publisher.publish(exchange, routingKey, body, { ...options, persistent: true })
  }

  async close() {
    if (!this.managed) return
    const { connection, publisher } = this.managed
    this.managed = undefined
    await publisher.close()
    await connection.close()
  }
}
