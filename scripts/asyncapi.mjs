// `npm run docs:asyncapi`: writes docs/asyncapi.yaml, the AsyncAPI 3.0 document of the events, from
// the event catalog and topology of @marketmesh/events, and of the messages of notify-service's SSE
// `GET /stream` from its stream/stream-events.ts (their builds). test/asyncapi.test.ts fails when
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
const { streamEvents } = require('../packages/notify-service/lib/src/stream/stream-events.js')

export const ASYNCAPI_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'asyncapi.yaml')

const AMQP_BINDING_VERSION = '0.3.0'
const prefix = baseDefaults.amqp.prefix
const exchange = exchangeNames(prefix)

/** TypeBox schemas are JSON Schema plus symbol keys, which JSON drops. */
const plain = (schema) => JSON.parse(JSON.stringify(schema))

/** A schema as a payload: without `$id`s, which name the services' own schemas and resolve nothing here. */
const payloadOf = (schema) => JSON.parse(JSON.stringify(schema, (key, value) => (key === '$id' ? undefined : value)))

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

// The SSE messages of notify-service's GET /stream: `event:` the name, `data:` the payload's JSON, `id:` its place in the log.
const STREAM = 'stream'
const streamMessageId = (type) => `stream.${type}`
const streamMessage = (type) => ({
  name: type,
  title: `event: ${type}`,
  summary: streamEvents[type].summary,
  description: `An SSE message \`event: ${type}\`, \`id: <its notification id>\`, \`data: <the payload as JSON>\` on notify-service's GET /stream.`,
  contentType: 'application/json',
  payload: payloadOf(streamEvents[type].data),
  examples: [{ name: type, summary: `data of event: ${type}`, payload: streamEvents[type].example }]
})
const streamChannel = () => ({
  address: '/stream',
  title: "notify-service's SSE stream",
  description:
    'GET /stream with `Authorization: Bearer <access token | device token>` (or ?token=): Server-Sent Events, each message `id` (its place in the ' +
    'notification log), `event` (its type) and `data` (JSON). Last-Event-ID (or ?lastEventId=) replays what was missed, then it goes live. ' +
    'Comment heartbeats keep it open; it ends when the token expires. The HTTP side is in docs/openapi/notify-service.json.',
  servers: [{ $ref: '#/servers/notify-service' }],
  messages: Object.fromEntries(
    Object.keys(streamEvents).map((type) => [streamMessageId(type), { $ref: `#/components/messages/${streamMessageId(type)}` }])
  )
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
    },
    'notify-service': {
      host: 'localhost:3034',
      protocol: 'http',
      description: 'notify-service, whose GET /stream sends Server-Sent Events (text/event-stream).'
    }
  },
  channels: {
    ...Object.fromEntries(eventTypes.map((type) => [type, eventChannel(type)])),
    ...Object.fromEntries(consumers.map((service) => [service, queueChannel(service)])),
    [STREAM]: streamChannel()
  },
  operations: {
    ...Object.fromEntries(eventTypes.map((type) => [`${publisherOf(type)}.send.${type}`, sendOperation(type)])),
    ...Object.fromEntries(consumers.map((service) => [`${service}.receive`, receiveOperation(service)])),
    'notify-service.send.stream': {
      action: 'send',
      channel: { $ref: `#/channels/${STREAM}` },
      title: 'notify-service streams notifications to apps and devices',
      description: 'Each caller gets what is theirs: their orders, their shop, their conversations, announcements; a device its shop’s print jobs.',
      messages: Object.keys(streamEvents).map((type) => ({ $ref: `#/channels/${STREAM}/messages/${streamMessageId(type)}` }))
    }
  },
  components: {
    messages: {
      ...Object.fromEntries(eventTypes.map((type) => [type, message(type)])),
      ...Object.fromEntries(Object.keys(streamEvents).map((type) => [streamMessageId(type), streamMessage(type)]))
    }
  }
})

export const asyncApiYaml = () =>
  `# Written by \`npm run docs:asyncapi\` (scripts/asyncapi.mjs) from packages/events/src and notify-service's stream/stream-events.ts: do not edit.\n${stringify(asyncApiDocument(), { lineWidth: 0 })}`

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(ASYNCAPI_PATH, asyncApiYaml())
  process.stdout.write(`wrote ${ASYNCAPI_PATH}\n`)
}
