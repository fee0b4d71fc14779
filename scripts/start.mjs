// `npm start`: checks PostgreSQL and RabbitMQ, then runs the four services as separate
// processes with prefixed, colour-coded logs; Ctrl-C stops them all.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import concurrently from 'concurrently'

const require = createRequire(import.meta.url)
const { default: pg } = await import('pg')
const amqplib = require('amqplib')
const { redactUrl } = require('@marketmesh/shared')

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
const databaseUrl = (service) =>
  settingOf(service, 'DATABASE_URL') ??
  JSON.parse(readFileSync(join(service.folder, 'config', 'default.json'), 'utf8')).postgresql.connection
const amqpUrl = (service) => settingOf(service, 'AMQP_URL') ?? 'amqp://guest:guest@127.0.0.1:5672'

const fail = (line) => {
  process.stderr.write(`${line}\n`)
  process.exit(1)
}

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

await checkPostgres(databaseUrl(services[0]))
await checkRabbitMq(amqpUrl(services[0]))

const { result } = concurrently(
  services.map(({ name, color, folder, env }) => ({
    name,
    prefixColor: color,
    cwd: folder,
    command: `exec "${process.execPath}" lib/src/index.js`,
    env: { ...env, LOG_PRETTY: process.stdout.isTTY ? '1' : '0' }
  })),
  { prefix: 'name', killOthersOn: ['failure'], handleInput: false }
)
result.then(
  () => process.exit(0),
  () => process.exit(1)
)
