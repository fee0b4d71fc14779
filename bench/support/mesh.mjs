// The whole mesh for a bench: user, catalog, order and notify services, each its own process, on
// databases and a broker prefix of the run's own; accounts made as a client makes them, and the
// commits the services' databases took.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { benchRun } from './bench-run.mjs'
import { freePort, waitUntil } from './processes.mjs'

const require = createRequire(import.meta.url)
const pg = require('pg')
const amqplib = require('amqplib')
const { exchangeNames } = require('@marketmesh/events')

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const SERVICE_NAMES = ['user', 'catalog', 'order', 'notify']

/**
 * Starts `service` ({ name, database }) of the build in `tree` (this repository by default) as a
 * process of `run`, on broker prefix `prefix`, and waits until it is ready. `extraEnv` goes over the
 * bench's environment; with `cpuProfileDir` it runs with --cpu-prof, its profile written there when it exits.
 */
export const startServiceProcess = async (run, { service, prefix, tree = root, cpuProfileDir, extraEnv = {} }) => {
  const port = await freePort()
  const opsPort = await freePort()
  const env = {
    ...process.env,
    PORT: String(port),
    // Where its /metrics is.
    OPS_PORT: String(opsPort),
    DATABASE_URL: service.database,
    AMQP_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    LOG_PRETTY: '0',
    // The bench registers its buyers from one address.
    REGISTRATION_RATE_LIMIT_PER_IP: '100000',
    ...extraEnv
  }
  const flags = cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProfileDir), '--cpu-prof-name', `${service.name}-service.cpuprofile`] : []
  const folder = join(tree, 'packages', `${service.name}-service`)
  const child = run.spawned(
    spawn(process.execPath, [...flags, join(folder, 'lib', 'src', 'index.js')], { cwd: folder, env, stdio: ['ignore', 'ignore', 'inherit'] })
  )
  const url = `http://127.0.0.1:${port}`
  await waitUntil(async () => (await fetch(`${url}/ready`)).status === 200, `${service.name}-service ready`)
  return { ...service, child, url, opsUrl: `http://127.0.0.1:${opsPort}` }
}

/**
 * A mesh run named after `label`: its services (name and database URL), how to start one, and
 * `remove()`, which drops its databases and the queues and exchanges of its prefix.
 * `cpuProfileDir`: each service runs with --cpu-prof, its profile written there when it exits.
 */
export const benchMesh = (label, { cpuProfileDir } = {}) => {
  const run = benchRun(label)
  const services = SERVICE_NAMES.map((name) => ({ name, database: `${run.connection}_${name}` }))
  const databaseNames = services.map((service) => new URL(service.database).pathname.slice(1))
  return {
    name: new URL(run.connection).pathname.slice(1),
    prefix: run.prefix,
    services,
    databaseNames,

    /** Starts the service and waits until it is ready; `extraEnv` over the bench's environment. */
    start: (service, extraEnv = {}) => startServiceProcess(run, { service, prefix: run.prefix, cpuProfileDir, extraEnv }),

    /** Commits so far in each service's database, by service name. */
    async commits() {
      const client = new pg.Client({ connectionString: run.connection.replace(/\/[^/]*$/, '/postgres') })
      await client.connect()
      const { rows } = await client.query('SELECT datname, xact_commit::bigint AS commits FROM pg_stat_database WHERE datname = ANY($1)', [
        databaseNames
      ])
      await client.end()
      return Object.fromEntries(services.map(({ name }, i) => [name, Number(rows.find((row) => row.datname === databaseNames[i])?.commits ?? 0)]))
    },

    /** Stops the services, drops their databases and the run's queues and exchanges (bench-run.mjs). */
    remove: run.remove
  }
}

/** Stops the services (SIGTERM: a traced one exports its last spans, a profiled one writes its profile) and waits until they are gone. */
export const stopServices = (running) =>
  Promise.all(
    running.map(({ child }) => new Promise((done) => (child.exitCode !== null ? done() : (child.once('exit', done), child.kill('SIGTERM')))))
  )

/** A JSON request; a 4xx or 5xx answer throws with its status and message. */
export const json = async (url, method, body, headers = {}) => {
  const response = await fetch(url, { method, headers: { 'Content-Type': 'application/json', ...headers }, body: body && JSON.stringify(body) })
  const answer = await response.json()
  if (response.status >= 400) throw new Error(`${method} ${url}: ${response.status} ${answer.message}`)
  return answer
}

/** Registers a buyer or seller (a seller with a shop) at user-service and logs in: its id, token and Authorization header. */
export const accountOf = async (users, run, role, index) => {
  const email = `${role}${index}-${run}@bench.example`
  const password = 'bench-password-1'
  const user = await json(`${users.url}/users`, 'POST', {
    email,
    password,
    name: `${role} ${index}`,
    role,
    ...(role === 'seller' ? { shopName: `Shop ${index} ${run}` } : {})
  })
  const { accessToken } = await json(`${users.url}/authentication`, 'POST', { strategy: 'local', email, password })
  return { id: user.id, token: accessToken, headers: { Authorization: `Bearer ${accessToken}` } }
}

/**
 * Sellers with products of ample stock (in catalog-service and, once its events arrived,
 * order-service) and buyers, on the running mesh `[users, catalog, order, ...]`.
 */
export const openMarket = async ([users, catalog, order], run, { sellers, productsPerSeller, buyers }) => {
  const market = { sellers: [], products: [], buyers: [] }
  for (let s = 0; s < sellers; s++) {
    const seller = await accountOf(users, run, 'seller', s)
    market.sellers.push(seller)
    for (let p = 0; p < productsPerSeller; p++) {
      const product = await json(
        `${catalog.url}/products`,
        'POST',
        { title: `Bench product ${s}-${p}`, price: 1_000 + p, currency: 'EUR', stock: 10_000_000 },
        seller.headers
      )
      market.products.push(product)
    }
  }
  for (let b = 0; b < buyers; b++) market.buyers.push(await accountOf(users, run, 'buyer', b))
  const orderDb = new pg.Client({ connectionString: order.database })
  await orderDb.connect()
  try {
    await waitUntil(
      async () => Number((await orderDb.query('SELECT count(*) FROM products')).rows[0].count) === market.products.length,
      'the products at order-service'
    )
  } finally {
    await orderDb.end()
  }
  return market
}

export const ORDER_OUTCOMES = ['order.paid', 'order.cancelled', 'order.rejected']

/**
 * Every order's outcome as the broker carries it, on a queue of the bench's own (exclusive: gone
 * with the connection): `onOutcome(orderId, type)`. Returns the connection, to close.
 */
export const listenForOutcomes = async (amqpUrl, prefix, onOutcome) => {
  const connection = await amqplib.connect(amqpUrl)
  const channel = await connection.createChannel()
  const { queue } = await channel.assertQueue('', { exclusive: true })
  for (const type of ORDER_OUTCOMES) await channel.bindQueue(queue, exchangeNames(prefix).events, type)
  await channel.consume(
    queue,
    (message) => {
      const event = JSON.parse(message.content.toString())
      onOutcome(event.data.orderId, event.type)
    },
    { noAck: true }
  )
  return connection
}
