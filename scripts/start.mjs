// `npm start`: builds where the compiler is installed, checks PostgreSQL, RabbitMQ and Redis, then runs the four services as separate
// processes with prefixed, colour-coded logs. A service that crashes is restarted with backoff
// while the others keep running; Ctrl-C stops them all.
// `npm start -- --instances N` (or MARKETMESH_INSTANCES=N) runs N processes of each service, as
// behind a load balancer: instance k (from 0) listens on the service's port + 100·k.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import concurrently, { Logger } from 'concurrently'

const require = createRequire(import.meta.url)
const { default: pg } = await import('pg')
const amqplib = require('amqplib')
const { Redis } = require('ioredis')
const { redactUrl } = require('@marketmesh/events')

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

// All four share this process's environment, where one DATABASE_URL would give them one database:
// MARKETMESH_<SERVICE>_<VARIABLE> sets <VARIABLE> for that service alone.
const ownEnvironment = (name) => {
  const prefix = `MARKETMESH_${name.toUpperCase()}_`
  return Object.fromEntries(
    Object.entries(process.env)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, value]) => [key.slice(prefix.length), value])
  )
}

const fail = (line) => {
  process.stderr.write(`${line}\n`)
  process.exit(1)
}

const { values: options } = parseArgs({ options: { instances: { type: 'string' } } })
const instancesSetting = options.instances ?? process.env.MARKETMESH_INSTANCES ?? '1'
const instances = Number(instancesSetting)
if (!Number.isInteger(instances) || instances < 1 || instances > 9) {
  fail(`--instances (or MARKETMESH_INSTANCES) must be an integer from 1 to 9, not "${instancesSetting}".`)
}
// In a checkout, build first (`tsc -b`: quick when nothing changed). A production tree (the
// Dockerfile's, or a built copy with `npm ci --omit=dev`) has no sources and runs what was compiled.
if (existsSync(join(root, 'tsconfig.json'))) {
  const { status } = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b'], { cwd: root, stdio: 'inherit' })
  if (status !== 0) fail('npm start: the build failed.')
}

// Instance k listens this far above the service's own port.
const INSTANCE_PORT_STEP = 100

const services = [
  { name: 'user', color: 'cyan' },
  { name: 'catalog', color: 'green' },
  { name: 'order', color: 'yellow' },
  { name: 'notify', color: 'magenta' }
].map((service) => ({
  ...service,
  folder: join(root, 'packages', `${service.name}-service`),
  env: ownEnvironment(service.name)
}))

const settingOf = (service, variable) => service.env[variable] ?? process.env[variable]
const defaultConfig = (service) => JSON.parse(readFileSync(join(service.folder, 'config', 'default.json'), 'utf8'))
const databaseUrl = (service) => settingOf(service, 'DATABASE_URL') ?? defaultConfig(service).postgresql.connection
const portOf = (service) => Number(settingOf(service, 'PORT') ?? defaultConfig(service).port)
const amqpUrl = (service) => settingOf(service, 'AMQP_URL') ?? 'amqp://guest:guest@127.0.0.1:5672'

const checkPostgres = async (url) => {
  const server = new URL(url)
  server.pathname = '/postgres'
  const client = new pg.Client({ connectionString: server.toString(), connectionTimeoutMillis: 3_000 })
  try {
    await client.connect()
  } catch (error) {
    fail(
      `PostgreSQL is not reachable at ${redactUrl(server.toString())} (${error.code ?? error.message}): start it with ` +
        '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or `docker compose up -d postgres`.'
    )
  } finally {
    await client.end().catch(() => undefined)
  }
}

const checkRabbitMq = async (url) => {
  try {
    const connection = await amqplib.connect(url, { timeout: 3_000 })
    await connection.close()
  } catch (error) {
    fail(
      `RabbitMQ is not reachable at ${redactUrl(url)} (${error.code ?? error.message}): start it with ` +
        '`rabbitmq-server -detached` or `docker compose up -d rabbitmq`.'
    )
  }
}

// catalog-service's read cache; with CACHE=off it runs without one.
const checkRedis = async (url) => {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 3_000, maxRetriesPerRequest: 0, retryStrategy: () => null })
  let connectionError
  redis.on('error', (error) => (connectionError = error))
  try {
    await redis.connect()
    await redis.ping()
  } catch (error) {
    const cause = connectionError ?? error
    fail(
      `Redis is not reachable at ${redactUrl(url)} (${cause.code ?? cause.message}): start it with ` +
        '`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""` or `docker compose up -d redis`, ' +
        'or run the catalog without its cache (CACHE=off).'
    )
  } finally {
    redis.disconnect()
  }
}

await checkPostgres(databaseUrl(services[0]))
await checkRabbitMq(amqpUrl(services[0]))
const catalog = services.find((service) => service.name === 'catalog')
if ((settingOf(catalog, 'CACHE') ?? defaultConfig(catalog).cache.mode) !== 'off') {
  await checkRedis(settingOf(catalog, 'REDIS_URL') ?? defaultConfig(catalog).redis.url)
}

// concurrently's own restartDelay: 'exponential' waits 2^n s with no ceiling, never forgets
// old crashes, and restarts a service that fails while shutting down: the policy is here instead.
const FIRST_DELAY_MS = 1_000
const MAX_DELAY_MS = 30_000
// A service that stayed up this long had recovered: its next crash starts the backoff over.
const STABLE_AFTER_S = 60

const logger = new Logger({ prefixFormat: 'name' })
const { commands, result } = concurrently(
  services.flatMap((service) =>
    Array.from({ length: instances }, (_, instance) => ({
      name: instances === 1 ? service.name : `${service.name}.${instance}`,
      prefixColor: service.color,
      cwd: service.folder,
      command: `exec "${process.execPath}" lib/src/index.js`,
      env: {
        ...service.env,
        // PORT=0 (any free port, as the tests use) stays 0 for every instance.
        ...(instances === 1 || portOf(service) === 0 ? {} : { PORT: String(portOf(service) + INSTANCE_PORT_STEP * instance) }),
        // An OPS_PORT given steps likewise; not given, each instance's is its own PORT + 1000.
        ...(instances === 1 || !Number(settingOf(service, 'OPS_PORT'))
          ? {}
          : { OPS_PORT: String(Number(settingOf(service, 'OPS_PORT')) + INSTANCE_PORT_STEP * instance) }),
        LOG_PRETTY: process.stdout.isTTY ? '1' : '0'
      }
    }))
  ),
  { logger, handleInput: false }
)
// It settles whenever no service runs, even with restarts pending; when to exit is decided below.
result.catch(() => undefined)

let stopping // the signal that stops them all
let exitCode = 0
const restarts = new Map()
const pending = new Map()

const exitWhenAllStopped = () => {
  if (pending.size === 0 && commands.every((command) => command.state !== 'started')) process.exit(exitCode)
}

// concurrently forwards these to every service; here they only call off the restarts.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopping = signal
    for (const timer of pending.values()) clearTimeout(timer)
    pending.clear()
    exitWhenAllStopped()
  })
}

for (const command of commands) {
  command.close.subscribe(({ exitCode: code, timings }) => {
    if (stopping) {
      // Killed by the very signal forwarded to it: it was still starting, so that is a clean stop too.
      if (code !== 0 && code !== stopping) exitCode = 1
    } else if (code === 0) {
      // Only a deliberate stop (someone sent it SIGTERM) ends a service with 0: leave it stopped.
      logger.logCommandEvent('exited with code 0; not restarting it', command)
    } else {
      const restart = timings.durationSeconds >= STABLE_AFTER_S ? 1 : (restarts.get(command) ?? 0) + 1
      restarts.set(command, restart)
      const delayMs = Math.min(FIRST_DELAY_MS * 2 ** (restart - 1), MAX_DELAY_MS)
      const how = typeof code === 'number' ? `code ${code}` : `signal ${code}`
      logger.logCommandEvent(`exited with ${how}; restarting in ${delayMs / 1000} s (restart ${restart})`, command)
      pending.set(
        command,
        setTimeout(() => {
          pending.delete(command)
          command.start()
        }, delayMs)
      )
    }
    exitWhenAllStopped()
  })
}
