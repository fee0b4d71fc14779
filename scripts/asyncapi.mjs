// `npm run docs:asyncapi`: writes docs/asyncapi.yaml, the AsyncAPI 3.0 document of the events, from
// the event catalog and topology of @marketmesh/events (its build). test/asyncapi.test.ts fails when
// the checked-in file is not what this writes.
import { writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'

const require = createRequire(import.meta.url)
const {
  consumerQueueNames,
  DEAD_LETTER_HEADERS,
  envelopeSchema,
  EVENT_CONSUMERS,
  EVENT_PUBLISHERS,
  EVENT_VERSION,
  eventSchemas,
  eventTypes,
  exchangeNames,
  REQUEST_ID_HEADER
} = require('@marketmesh/events')
const { baseDefaults } = require('@marketmesh/shared')

export const ASYNCAPI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'asyncapi.yaml')

const AMQP_BINDING_VERSION = '0.3.0'
const prefix = baseDefaults.amqp.prefix
const exchange = exchangeNames(prefix)

/** TypeBox schemas are JSON Schema plus symbol keys, which JSON drops. */
const plain = (schema) => JSON.parse(JSON.stringify(schema))

const publisherOf = (type) => Object.keys(EVENT_PUBLISHERS).find((service) => EVENT_PUBLISHERS[service].includes(type))
const consumersOf = (type) => Object.keys(EVENT_CONSUMERS).filter((service) => EVENT_CONSUMERS[service].includes(type))
const messageRef = (type) => ({ $ref: `#/components/messages/${type}` })

/** The envelope with `type` fixed and `data` the type's schema: what a message of that type carries. */
const envelopeOf = (type) => {
  const envelope = plain(envelopeSchema)
  envelope.properties.type = { const: type }
  envelope.properties.data = plain(eventSchemas[type])
  return envelope
}

const message = (type) => ({
  name: type,
  title: type,
  summary: `Published by ${publisherOf(type)}; consumed by ${consumersOf(type).join(', ') || 'no service yet'}.`,
  contentType: 'application/json',
  headers: {
    type: 'object',
    properties: {
      [REQUEST_ID_HEADER]: {
        type: 'string',
        description: 'The request id of the HTTP call that caused the event, logged by every service it touches.'
      }
    }
  },
  payload: envelopeOf(type),
  correlationId: { location: '$message.payload#/correlationId' },
  bindings: { amqp: { messageType: type, bindingVersion: AMQP_BINDING_VERSION } }
})

const eventChannel = (type) => ({
  address: type,
  title: type,
  description: `Events of type ${type} on the topic exchange ${exchange.events}, routing key ${type}.`,
  messages: { [type]: messageRef(type) },
  bindings: {
    amqp: {
      is: 'routingKey',
      exchange: { name: exchange.events, type: 'topic', durable: true, autoDelete: false, vhost: '/' },
      bindingVersion: AMQP_BINDING_VERSION
    }
  }
})

const consumers = Object.keys(EVENT_CONSUMERS).filter((service) => EVENT_CONSUMERS[service].length > 0)

const queueChannel = (service) => {
  const { queue, deadLetterQueue } = consumerQueueNames(prefix, service)
  return {
    address: queue,
    title: `${service}'s queue`,
    description:
      `The quorum queue of ${service}, bound to ${exchange.events} with the event types it handles as routing keys. ` +
      `A failed event is retried through its delay queues ${queue}.retry.<ms>ms, then dead-lettered through ${exchange.deadLetters} ` +
      `to ${deadLetterQueue} with the headers ${Object.values(DEAD_LETTER_HEADERS).join(', ')}.`,
    messages: Object.fromEntries(EVENT_CONSUMERS[service].map((type) => [type, messageRef(type)])),
    bindings: {
      amqp: {
        is: 'queue',
        queue: { name: queue, durable: true, exclusive: false, autoDelete: false, vhost: '/' },
        bindingVersion: AMQP_BINDING_VERSION
      }
    }
  }
}

const sendOperation = (type) => ({
  action: 'send',
  channel: { $ref: `#/channels/${type}` },
  title: `${publisherOf(type)} publishes ${type}`,
  description: `Written to ${publisherOf(type)}'s outbox in the transaction of the change; its relay publishes it, persistent, with publisher confirms.`,
  messages: [{ $ref: `#/channels/${type}/messages/${type}` }],
  bindings: { amqp: { deliveryMode: 2, bindingVersion: AMQP_BINDING_VERSION } }
})

const receiveOperation = (service) => ({
  action: 'receive',
  channel: { $ref: `#/channels/${service}` },
  title: `${service} consumes ${EVENT_CONSUMERS[service].join(', ')}`,
  description: 'Each event is handled once: its writes commit with a processed_events row, and a redelivery is acked and skipped.',
  messages: EVENT_CONSUMERS[service].map((type) => ({ $ref: `#/channels/${service}/messages/${type}` })),
  bindings: { amqp: { ack: true, bindingVersion: AMQP_BINDING_VERSION } }
})

export const asyncApiDocument = () => ({
  asyncapi: '3.0.0',
  info: {
    title: 'marketmesh events',
    version: `${EVENT_VERSION}.0.0`,
    description:
      'The events the marketmesh services exchange through RabbitMQ. Each message is a JSON envelope ' +
      '{id, type, version, occurredAt, source, correlationId, causationId, data}; id is also the AMQP messageId. ' +
      'Events of one aggregate may arrive in any order. Written by `npm run docs:asyncapi` from packages/events/src ' +
      '(event-types.ts, topology.ts); docs/architecture.md describes the backbone.'
  },
  defaultContentType: 'application/json',
  servers: {
    rabbitmq: {
      host: 'rabbitmq:5672',
      protocol: 'amqp',
      protocolVersion: '0.9.1',
      description: 'A RabbitMQ cluster (3 nodes in production); every queue is a durable quorum queue.'
    }
  },
  channels: {
    ...Object.fromEntries(eventTypes.map((type) => [type, eventChannel(type)])),
    ...Object.fromEntries(consumers.map((service) => [service, queueChannel(service)]))
  },
  operations: {
    ...Object.fromEntries(eventTypes.map((type) => [`${publisherOf(type)}.send.${type}`, sendOperation(type)])),
    ...Object.fromEntries(consumers.map((service) => [`${service}.receive`, receiveOperation(service)]))
  },
  components: { messages: Object.fromEntries(eventTypes.map((type) => [type, message(type)])) }
})

export const asyncApiYaml = () =>
  `# Written by \`npm run docs:asyncapi\` (scripts/asyncapi.mjs) from packages/events/src: do not edit.\n${stringify(asyncApiDocument(), { lineWidth: 0 })}`

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(ASYNCAPI_PATH, asyncApiYaml())
  process.stdout.write(`wrote ${ASYNCAPI_PATH}\n`)
}
