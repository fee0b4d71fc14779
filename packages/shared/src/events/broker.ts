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
  readonly connection: AmqpConnectionManager
  /** Confirmed publishing: a publish resolves only once the broker has taken the message. */
  readonly publisher: ChannelWrapper
  readonly exchanges: ReturnType<typeof exchangeNames>

  constructor(private readonly options: BrokerOptions) {
    this.exchanges = exchangeNames(options.prefix)
    this.connection = amqp.connect([options.url], {
      heartbeatIntervalInSeconds: 5,
      reconnectTimeInSeconds: 1,
      connectionOptions: { clientProperties: { connection_name: options.connectionName } }
    })
    this.connection.on('connect', () => options.logger.info({ broker: redactUrl(options.url) }, 'broker connected'))
    this.connection.on('disconnect', ({ err }) =>
      options.logger.warn({ broker: redactUrl(options.url), err: err?.message }, 'broker disconnected')
    )
    this.connection.on('connectFailed', ({ err }) =>
      options.logger.debug({ broker: redactUrl(options.url), err: err?.message }, 'broker connection failed')
    )
    this.publisher = this.connection.createChannel({
      name: 'publisher',
      confirm: true,
      json: false,
      publishTimeout: options.publishTimeoutMs,
      setup: (channel: ConfirmChannel) => this.declareExchanges(channel)
    })
    this.publisher.on('error', (error: Error) => options.logger.error({ err: error.message }, 'publisher channel error'))
  }

  /** Idempotent: every process that needs an exchange declares it, with the same arguments. */
  async declareExchanges(channel: ConfirmChannel) {
    await channel.assertExchange(this.exchanges.events, 'topic', { durable: true })
    await channel.assertExchange(this.exchanges.deadLetters, 'direct', { durable: true })
  }

  isConnected() {
    return this.connection.isConnected()
  }

  publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish) {
    return this.publisher.publish(exchange, routingKey, body, { ...options, persistent: true })
  }

  async close() {
    await this.publisher.close()
    await this.connection.close()
  }
}
