import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager'
import type { ConfirmChannel, Options } from 'amqplib'
import type { Logger } from '../logger'
import { redactUrl } from '../redact'
import { exchangeNames } from './topology'

export interface BrokerOptions {
  url: string
  prefix: string
  publishTimeoutMs: number
  logger: Logger
  /** Shown in the RabbitMQ management UI as the connection name. */
  connectionName: string
}

/**
 * One connection per process, managed by amqp-connection-manager: it reconnects by itself and
 * re-runs every channel's setup (topology, consumers) after a reconnect.
 */
export class Broker {
  readonly exchanges: ReturnType<typeof exchangeNames>
  private managed?: { connection: AmqpConnectionManager; publisher: ChannelWrapper }

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
    connection.on('disconnect', ({ err }) => logger.warn({ broker: redactUrl(url), err: err?.message }, 'broker disconnected'))
    connection.on('connectFailed', ({ err }) =>
      logger.debug({ broker: redactUrl(url), err: err?.message }, 'broker connection failed')
    )
    // Confirmed publishing: a publish resolves only once the broker has taken the message.
    const publisher = connection.createChannel({
      name: 'publisher',
      confirm: true,
      json: false,
      publishTimeout: publishTimeoutMs,
      setup: (channel: ConfirmChannel) => this.declareExchanges(channel)
    })
    publisher.on('error', (error: Error) => logger.error({ err: error.message }, 'publisher channel error'))
    this.managed = { connection, publisher }
  }

  get connection() {
    if (!this.managed) throw new Error('The broker connection is not started')
    return this.managed.connection
  }

  /** Idempotent: every process that needs an exchange declares it, with the same arguments. */
  async declareExchanges(channel: ConfirmChannel) {
    await channel.assertExchange(this.exchanges.events, 'topic', { durable: true })
    await channel.assertExchange(this.exchanges.deadLetters, 'direct', { durable: true })
  }

  isConnected() {
    return this.managed?.connection.isConnected() ?? false
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
