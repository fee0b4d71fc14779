import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser'
import { EVENT_CONSUMERS, EVENT_PUBLISHERS, eventSchemas, eventTypes, exchangeNames, consumerQueueNames } from '@marketmesh/events'
import { baseDefaults } from '@marketmesh/shared'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import { beforeAll, describe, expect, it } from 'vitest'
// The build's, as scripts/asyncapi.mjs reads it: the schemas' validators are compiled once per process.
import { streamEvents } from '../packages/notify-service/lib/src/stream/stream-events.js'
import { ASYNCAPI_PATH, asyncApiYaml } from '../scripts/asyncapi.mjs'

const ROOT = join(__dirname, '..')
const prefix = baseDefaults.amqp.prefix

// Spectral's severities: 0 error, 1 warning, 2 information, 3 hint.
const WARNING = 1

let parsed: Awaited<ReturnType<Parser['parse']>>
let document: AsyncAPIDocumentInterface

beforeAll(async () => {
  parsed = await new Parser().parse(readFileSync(ASYNCAPI_PATH, 'utf8'))
  // Undefined when it has errors: the tests that read it fail, the validity test says why.
  document = parsed.document!
})

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []
  )

/**
 * The `event:` names notify-service's code sends on /stream: the `type` of each notification it
 * appends to the log (`appendNotification`) or frames itself (`frameOf`), as a literal or a constant
 * of its own; `event.type` for the events it streams as they are.
 */
const streamedTypes = () => {
  const files = sourceFiles(join(ROOT, 'packages', 'notify-service', 'src')).map((file) => readFileSync(file, 'utf8'))
  const constants = new Map(
    files.flatMap((text) => [...text.matchAll(/export const ([A-Z_]+) = '([a-z._]+)'/g)].map((match) => [match[1], match[2]]))
  )
  const types = new Set<string>()
  for (const text of files) {
    for (const call of text.matchAll(/(?:appendNotification|frameOf)\(\s*(?:trx,\s*)?\{[^}]*?\btype: (?:'([a-z._]+)'|([A-Z_]+))/gs)) {
      types.add(call[1] ?? constants.get(call[2])!)
    }
  }
  return types
}

/** The event types a service's code emits: `emit(trx, 'type', …)`, `emitAll(…)`, `emitEvent('type', …)`, a handler's `emit('type', …)`. */
const emittedBy = (service: string) => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []
    )
  const types = new Set<string>()
  for (const file of files(join(ROOT, 'packages', service, 'src'))) {
    // emit, emitAll, emitEvent, emitAlongside, and order-service's `move(…, emitting(type, …))`.
    for (const match of readFileSync(file, 'utf8').matchAll(/\bemit(?:All|Event|Alongside|ting)?\(\s*(?:trx\s*,\s*)?'([a-z]+(?:\.[a-z_]+)+)'/g))
      types.add(match[1])
  }
  return [...types].sort()
}

describe('docs/asyncapi.yaml', () => {
  it('is what `npm run docs:asyncapi` writes from the event catalog today', () => {
    expect(readFileSync(ASYNCAPI_PATH, 'utf8'), 'run `npm run docs:asyncapi` and commit docs/asyncapi.yaml').toBe(asyncApiYaml())
  })

  it('is a valid AsyncAPI 3.0 document (@asyncapi/parser: no error, no warning)', () => {
    const problems = parsed.diagnostics.filter((diagnostic) => diagnostic.severity <= WARNING)
    expect(problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`)).toEqual([])
    expect(document.version()).toBe('3.0.0')
  })

  it("has a channel per event type on the topic exchange, routing key = the type, and a message whose payload is the envelope with the type's data schema", () => {
    for (const type of eventTypes) {
      const channel = document.channels().get(type)
      expect(channel?.address(), type).toBe(type)
      const amqp = channel!.bindings().get('amqp')?.value()
      expect(amqp).toMatchObject({ is: 'routingKey', exchange: { name: exchangeNames(prefix).events, type: 'topic', durable: true } })
      const messages = channel!.messages().all()
      expect(messages.map((message) => message.id())).toEqual([type])
      // The parser adds x-parser-schema-id to every schema: the payload holds the catalog's schema and those.
      const payload = messages[0].payload()!
      expect(payload.required()).toEqual(
        expect.arrayContaining(['id', 'type', 'version', 'occurredAt', 'source', 'correlationId', 'causationId', 'data'])
      )
      expect(payload.properties()?.type.json()).toMatchObject({ const: type })
      expect(payload.properties()?.data.json()).toMatchObject(JSON.parse(JSON.stringify(eventSchemas[type])))
    }
    expect(document.messages().all().length).toBe(eventTypes.length + Object.keys(streamEvents).length)
  })

  it('has one send operation per event type, by its publisher, and one receive per consumer from its own queue, of the types it handles', () => {
    const sends = document.operations().filterBySend()
    for (const type of eventTypes) {
      const publishers = Object.keys(EVENT_PUBLISHERS).filter((service) =>
        (EVENT_PUBLISHERS[service as keyof typeof EVENT_PUBLISHERS] as readonly string[]).includes(type)
      )
      expect(publishers, `${type} has one publisher`).toHaveLength(1)
      const operations = sends.filter((operation) => operation.channels().all()[0]?.address() === type)
      expect(operations.map((operation) => operation.id())).toEqual([`${publishers[0]}.send.${type}`])
    }
    const receives = document.operations().filterByReceive()
    const consumers = Object.entries(EVENT_CONSUMERS).filter(([, types]) => types.length > 0)
    expect(receives.map((operation) => operation.id()).sort()).toEqual(consumers.map(([service]) => `${service}.receive`).sort())
    for (const [service, types] of consumers) {
      const operation = receives.find((candidate) => candidate.id() === `${service}.receive`)!
      const queue = operation.channels().all()[0]
      expect(queue.address()).toBe(consumerQueueNames(prefix, service).queue)
      expect(queue.bindings().get('amqp')?.value()).toMatchObject({ is: 'queue', queue: { durable: true } })
      expect(
        operation
          .messages()
          .all()
          .map((message) => message.id())
      ).toEqual([...types])
    }
  })

  it("has notify-service's SSE /stream: a message per event it sends, each with an example its payload takes", () => {
    const channel = document.channels().get('stream')!
    expect(channel.address()).toBe('/stream')
    expect(
      channel
        .servers()
        .all()
        .map((server) => server.protocol())
    ).toEqual(['http'])
    const messages = channel.messages().all()
    expect(messages.map((message) => message.name()).sort()).toEqual(Object.keys(streamEvents).sort())
    const ajv = addFormats(new Ajv({ strict: false, allErrors: true }))
    for (const message of messages) {
      const examples = message.examples().all()
      expect(examples.length, message.name()).toBeGreaterThan(0)
      const validate = ajv.compile(message.payload()!.json())
      for (const example of examples) expect(validate(example.payload()) ? [] : validate.errors, message.name()).toEqual([])
    }
    // What the code sends is all documented: the events it streams as they are, and the messages of its own.
    const streamedAsTheyAre = EVENT_CONSUMERS['notify-service'].filter((type) => /^(order|payout)\./.test(type))
    expect(Object.keys(streamEvents)).toEqual(expect.arrayContaining([...streamedAsTheyAre, 'user.registered', 'user.updated', ...streamedTypes()]))
    expect(streamedTypes().size).toBeGreaterThanOrEqual(6)
    const operation = document.operations().get('notify-service.send.stream')!
    expect(operation.action()).toBe('send')
    expect(operation.messages().all().length).toBe(messages.length)
  })

  it.each(Object.keys(EVENT_PUBLISHERS))('names %s the publisher of exactly the event types its code emits', (service) => {
    expect(emittedBy(service)).toEqual([...EVENT_PUBLISHERS[service as keyof typeof EVENT_PUBLISHERS]].sort())
  })
})
