import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { connect as connectTcp, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { join } from 'node:path'
import amqplib from 'amqplib'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { consumerQueueNames, CONSUMERS, EventBus, eventBackboneMigrations, exchangeNames, type EventBusOptions } from '@marketmesh/events'
import {
  baseDefaults,
  createKnex,
  deepMerge,
  dropDatabase,
  ensureDatabase,
  migrateLatest,
  type BaseSettings,
  type MigrationList
} from '@marketmesh/shared'

export const POSTGRES = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'
export const AMQP = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
/** The repository's root (this file is packages/test-support/src/index.ts, or lib/index.js built). */
export const ROOT = join(__dirname, '..', '..', '..')

/** A name no other test run uses: databases and broker prefixes never collide. */
export const uniqueName = (label: string) => `mmtest_${label.replace(/-/g, '_')}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`

/** Settings overrides that give a test its own database and exchange/queue prefix. */
export const isolatedSettings = (label: string, extra: Record<string, unknown> = {}) => {
  const name = uniqueName(label)
  return {
    postgresql: { connection: `${POSTGRES}/${name}` },
    amqp: { prefix: name.replace(/_/g, '.'), retryDelaysMs: [200, 400] },
    ...extra
  }
}

/** The same as environment variables, for a service started as a process. */
export const isolatedEnvironment = (label: string) => {
  const settings = isolatedSettings(label)
  return {
    DATABASE_URL: settings.postgresql.connection,
    AMQP_PREFIX: settings.amqp.prefix,
    EVENT_RETRY_DELAYS_MS: settings.amqp.retryDelaysMs.join(','),
    PORT: '0'
  }
}

/** Removes what a test made on the broker (the shared one unless `amqpUrl`) and in PostgreSQL. */
export const cleanUp = async ({
  prefix,
  databases = [],
  retryDelaysMs = [200, 400],
  amqpUrl = AMQP
}: {
  prefix?: string
  databases?: string[]
  retryDelaysMs?: number[]
  amqpUrl?: string
}) => {
  if (prefix) {
    const connection = await amqplib.connect(amqpUrl)
    const channel = await connection.createChannel()
    for (const consumer of [...CONSUMERS, 'test-consumer']) {
      const names = consumerQueueNames(prefix, consumer)
      // A service started without the test's delays (a production start, say) made the default ones.
      const delays = new Set([...retryDelaysMs, ...baseDefaults.amqp.retryDelaysMs])
      for (const queue of [names.queue, names.deadLetterQueue, ...[...delays].map(names.retryQueue)]) {
        await channel.deleteQueue(queue)
      }
    }
    const exchanges = exchangeNames(prefix)
    await channel.deleteExchange(exchanges.events)
    await channel.deleteExchange(exchanges.deadLetters)
    await connection.close()
  }
  for (const database of databases) await dropDatabase(database)
}

export const waitFor = async <T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 50, what = 'condition' } = {}
): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const result = await check()
    if (result) return result
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

export interface ServiceProcess {
  child: ChildProcess
  url: string
  /** Its ops port, where `GET /metrics` is. */
  opsUrl: string
  output: () => string
  exited: Promise<number | null>
}

/** Starts a built service (`lib/src/index.js`) as its own process and waits until it listens. */
export const startServiceProcess = async (
  service: string,
  env: Record<string, string>,
  { startTimeoutMs = 30_000 } = {}
): Promise<ServiceProcess> => {
  const child = spawn(process.execPath, [join(ROOT, 'packages', service, 'lib', 'src', 'index.js')], {
    cwd: join(ROOT, 'packages', service),
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', LOG_PRETTY: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', (chunk) => (output += chunk))
  child.stderr!.on('data', (chunk) => (output += chunk))
  // 'close', not 'exit': by then its output is all read.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  const [, port, opsPort] = await Promise.race([
    waitFor(() => /"port":(\d+),"opsPort":(\d+),"msg":"[a-z-]+ listening"/.exec(output) ?? undefined, {
      what: `${service} to listen`,
      timeoutMs: startTimeoutMs
    }),
    exited.then((code) => {
      throw new Error(`${service} exited with ${code} before listening:\n${output}`)
    })
  ]).catch((error: Error) => {
    // One that never listened is not left running behind the failed test.
    if (child.exitCode !== null) throw error
    child.kill('SIGKILL')
    throw new Error(`${error.message}:\n${output}`)
  })
  return { child, url: `http://127.0.0.1:${port}`, opsUrl: `http://127.0.0.1:${opsPort}`, output: () => output, exited }
}

/** An event bus on its own database, the way a service builds it, for tests of the backbone itself. */
export const createTestBus = async (options: {
  service: string
  connection: string
  prefix: string
  amqpUrl?: string
  afterPublish?: EventBusOptions['afterPublish']
  migrations?: MigrationList
  /** Settings over the test defaults, e.g. `{ amqp: { batchSize: 5 } }`. */
  settings?: Record<string, unknown>
  consumers?: EventBusOptions['consumers']
}) => {
  await ensureDatabase(options.connection)
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
  const db = createKnex({ client: 'pg', connection: options.connection, pool: { min: 0, max: 10 } }, logger)
  await migrateLatest(db, { ...eventBackboneMigrations, ...options.migrations }, options.connection)
  const registry = new Registry()
  const settings = deepMerge(
    baseDefaults,
    {
      postgresql: { connection: options.connection },
      amqp: { url: options.amqpUrl ?? AMQP, prefix: options.prefix, retryDelaysMs: [200, 400], publishTimeoutMs: 2_000 },
      outbox: { pollIntervalMs: 500 },
      sideEffects: { retryDelaysMs: [100, 200], leaseMs: 1_000, pollIntervalMs: 100 }
    },
    options.settings
  ) as BaseSettings
  const bus = new EventBus({
    service: options.service,
    settings,
    db,
    logger,
    registry,
    afterPublish: options.afterPublish,
    consumers: options.consumers
  })
  return { bus, db, registry }
}

/** The value of one Prometheus counter sample, e.g. metricValue(registry, 'events_duplicates_total', { consumer: 'x' }). */
export const metricValue = async (registry: Registry, name: string, labels: Record<string, string> = {}) => {
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name)
  return (metric?.values ?? [])
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0)
}

/** The same sum from a running service's `GET /metrics` on its ops port (Prometheus text): the benches' reader. */
export { scrapedMetric } from './metrics'

/**
 * A TCP proxy in front of RabbitMQ (or, given its port, PostgreSQL) that a test can cut and
 * restore: an outage as the service sees it, without stopping the server other tests use.
 */
export const createTcpProxy = async (target = { host: '127.0.0.1', port: 5672 }) => {
  const sockets = new Set<Socket>()
  const server = createNetServer((client) => {
    const upstream = connectTcp(target.port, target.host)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('close', () => sockets.delete(socket))
      socket.on('error', () => socket.destroy())
    }
    client.pipe(upstream).pipe(client)
  })
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()))
  await listen(0)
  const port = (server.address() as AddressInfo).port
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    /** Drops every connection and refuses new ones. */
    cut: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      }),
    restore: () => listen(port),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const socket of sockets) socket.destroy()
      })
  }
}
