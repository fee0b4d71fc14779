import { randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import amqplib from 'amqplib'
import { EVENT_VERSION, exchangeNames, type EventData, type EventEnvelope, type EventType } from '@marketmesh/events'
import { deepMerge, listen, type Principal, type ServiceApplication } from '@marketmesh/shared'
import { AMQP, cleanUp, createTestBus, isolatedSettings, POSTGRES, uniqueName, waitFor } from '.'
import { AnswerChecker, type Answer, type OpenApiPaths } from './openapi'
import { bearer } from './tokens'

export const buyer = (): Principal => ({ id: randomUUID(), role: 'buyer' })
export const seller = (): Principal => {
  const id = randomUUID()
  return { id, role: 'seller', sellerId: id }
}
export const admin = (): Principal => ({ id: randomUUID(), role: 'admin' })

/** An envelope as another service's outbox would write it. */
export const envelope = <T extends EventType>(type: T, data: EventData<T>, source = 'test'): EventEnvelope<T> => {
  const id = randomUUID()
  return { id, type, version: EVENT_VERSION, occurredAt: new Date().toISOString(), source, correlationId: id, causationId: null, data }
}

/**
 * A service in-process on its own database and broker prefix, with a test bus that plays the
 * other services: it emits their events and records the `watched` events the service emits.
 */
export const startServiceUnderTest = async (options: {
  label: string
  createApp: (settings: Record<string, unknown>) => ServiceApplication
  watched: EventType[]
  settings?: Record<string, unknown>
}) => {
  const settings = deepMerge(isolatedSettings(options.label), options.settings ?? {})
  const prefix = settings.amqp.prefix
  const app = options.createApp(settings)
  const server = await listen(app, 0)
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const opsUrl = `http://127.0.0.1:${(app.get('opsServer')!.address() as AddressInfo).port}`

  const busDatabase = `${POSTGRES}/${uniqueName(`${options.label}_bus`)}`
  const { bus, db } = await createTestBus({ service: 'test-consumer', connection: busDatabase, prefix })
  const received: EventEnvelope[] = []
  for (const type of options.watched) bus.on(type, async (event) => void received.push(event))
  await bus.start()
  await bus.whenConsuming()

  // What `call` was answered, for `undocumentedAnswers`.
  const answers: Answer[] = []
  const call = async (method: string, path: string, request: { as?: Principal; body?: unknown; headers?: Record<string, string> } = {}) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', ...(request.as ? bearer(request.as) : {}), ...request.headers },
      body: request.body === undefined ? undefined : JSON.stringify(request.body)
    })
    // Any JSON: each test asserts the shape it expects.
    const body = (await response.json()) as any
    const [pathname, query] = path.split('?')
    answers.push({ method, path: pathname, query, status: response.status, contentType: response.headers.get('content-type') ?? '', body })
    return { status: response.status, headers: response.headers, body }
  }

  return {
    app,
    url,
    /** Where its `GET /metrics` is (the ops port). */
    opsUrl,
    /** What the app was created with: another instance of the service on the same database and prefix. */
    settings,
    db: app.get('postgresqlClient'),
    received,
    call,
    /** What of every answer to `call` so far the app's own OpenAPI document (its GET /openapi.json) does not say: none when all are as documented. */
    undocumentedAnswers: async () => {
      const checker = new AnswerChecker((await (await fetch(`${url}/openapi.json`)).json()) as OpenApiPaths)
      return answers.flatMap((answer) => checker.check(answer))
    },
    /** How many answers `call` has had. */
    answerCount: () => answers.length,
    /** Emits an event as the service that owns it would, through the test bus's outbox. */
    emit: <T extends EventType>(type: T, data: EventData<T>) => db.transaction((trx) => bus.emit(trx, type, data)),
    /** Emits several events of one type in one transaction: they reach the service together, as a burst does. */
    emitAll: <T extends EventType>(type: T, dataList: EventData<T>[]) => db.transaction((trx) => bus.emitAll(trx, type, dataList)),
    /** Waits for `count` events of `type` (that `match`) from the service. */
    eventsOf: async <T extends EventType>(type: T, count = 1, match: (event: EventEnvelope<T>) => boolean = () => true) => {
      const matching = () => received.filter((event): event is EventEnvelope<T> => event.type === type && match(event as EventEnvelope<T>))
      await waitFor(() => matching().length >= count, { what: `${count} ${type}` })
      return matching()
    },
    /** Publishes one envelope straight to the exchange, as a redelivery would bring it. */
    publishRaw: async (event: EventEnvelope) => {
      const connection = await amqplib.connect(AMQP)
      const channel = await connection.createConfirmChannel()
      channel.publish(exchangeNames(prefix).events, event.type, Buffer.from(JSON.stringify(event)), {
        messageId: event.id,
        type: event.type,
        persistent: true,
        contentType: 'application/json'
      })
      await channel.waitForConfirms()
      await connection.close()
    },
    close: async () => {
      await bus.stop()
      await db.destroy()
      await app.teardown()
      server.close()
      await cleanUp({ prefix, databases: [settings.postgresql.connection, busDatabase] })
    }
  }
}

export type ServiceUnderTest = Awaited<ReturnType<typeof startServiceUnderTest>>
