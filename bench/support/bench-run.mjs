// What a bench needs around its run: unique names for its databases and broker objects, and their
// removal however the run ends: done, failed, or interrupted (SIGINT, SIGTERM).
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const amqplib = require('amqplib')
const pg = require('pg')
const { consumerQueueNames, EVENT_CONSUMERS, exchangeNames } = require('@marketmesh/events')
const { baseDefaults } = require('@marketmesh/shared')

const postgres = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432'

/**
 * A run named `mmbench_<label>_<time><random>`: its databases are that name or start with it
 * (`database(suffix)`), its broker objects are under `prefix` or a prefix from `subPrefix(suffix)`.
 *
 * Contract: `remove()` (once, however often called) stops the processes handed to `spawned()` and
 * waits for their exit (so none declares again what is being deleted), deletes at each of the run's
 * prefixes the exchanges and every consumer's queues a service declares (EVENT_CONSUMERS and the
 * `consumers` given, with the default retry delays: a service declares them all at start, whichever
 * it consumes itself), deletes the queues and exchanges handed to `declared()`, drops every
 * database whose name starts with the run's, and runs what `atRemoval()` was given. A failure to
 * remove is printed, never thrown. On SIGINT or SIGTERM it removes the run and exits with 128 +
 * the signal's number; on an uncaught exception it removes the run and exits with 1.
 */
export const benchRun = (label, { consumers = [] } = {}) => {
  const name = `mmbench_${label}_${Date.now().toString(36)}${randomBytes(2).toString('hex')}`
  const prefix = name.replace(/_/g, '.')
  const prefixes = new Set([prefix])
  const queues = new Set()
  const exchanges = new Set()
  const children = new Set()
  const undos = []
  let removal

  const stopChildren = () =>
    Promise.all(
      [...children].map((child) =>
        child.exitCode !== null || child.signalCode !== null
          ? undefined
          : new Promise((exited) => (child.once('exit', exited), child.kill('SIGKILL')))
      )
    )

  const removeBrokerObjects = async () => {
    // A broker that does not answer must not hold the run's end forever.
    const connection = await amqplib.connect(process.env.AMQP_URL ?? baseDefaults.amqp.url, { timeout: 10_000 })
    try {
      const channel = await connection.createChannel()
      for (const at of prefixes) {
        for (const consumer of [...Object.keys(EVENT_CONSUMERS), ...consumers]) {
          const names = consumerQueueNames(at, consumer)
          for (const queue of [names.queue, names.deadLetterQueue, ...baseDefaults.amqp.retryDelaysMs.map(names.retryQueue)]) queues.add(queue)
        }
        for (const exchange of Object.values(exchangeNames(at))) exchanges.add(exchange)
      }
      for (const queue of queues) await channel.deleteQueue(queue)
      for (const exchange of exchanges) await channel.deleteExchange(exchange)
    } finally {
      await connection.close()
    }
  }

  const dropDatabases = async () => {
    const client = new pg.Client({ connectionString: `${postgres}/postgres` })
    await client.connect()
    try {
      const { rows } = await client.query('SELECT datname FROM pg_database WHERE starts_with(datname, $1)', [name])
      for (const { datname } of rows) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`)
    } finally {
      await client.end()
    }
  }

  const remove = () =>
    (removal ??= (async () => {
      await stopChildren()
      for (const [what, step] of [['broker objects', removeBrokerObjects], ['databases', dropDatabases], ...undos]) {
        await step().catch((error) => console.error(`could not remove the ${what} of ${name}: ${error.message}`))
      }
    })())

  for (const [signal, number] of [
    ['SIGINT', 2],
    ['SIGTERM', 15]
  ]) {
    process.once(signal, () => {
      console.error(`${signal}: removing ${name}`)
      remove().finally(() => process.exit(128 + number))
    })
  }
  // A failure outside the run's try/finally (an 'error' event nobody listens to) ends the process
  // without it: the run is removed all the same.
  process.on('uncaughtException', (error) => {
    console.error(error)
    console.error(`removing ${name}`)
    remove().finally(() => process.exit(1))
  })

  return {
    name,
    prefix,
    /** The run's database: `name`. */
    connection: `${postgres}/${name}`,
    /** Another database of the run: `<name>_<suffix>`. */
    database: (suffix) => `${postgres}/${name}_${suffix}`,
    /** Another prefix of the run, `<prefix>.<suffix>`, whose topology `remove()` deletes too. */
    subPrefix(suffix) {
      const sub = `${prefix}.${suffix}`
      prefixes.add(sub)
      return sub
    },
    /** Queues and exchanges the bench declares outside the services' topology. */
    declared(objects) {
      for (const queue of objects.queues ?? []) queues.add(queue)
      for (const exchange of objects.exchanges ?? []) exchanges.add(exchange)
    },
    /** Something else of the run that `remove()` undoes, after the databases (`what` names it in a failure). */
    atRemoval(what, undo) {
      undos.push([what, undo])
    },
    /** A process of the run, stopped before the run is removed. */
    spawned(child) {
      children.add(child)
      child.once('exit', () => children.delete(child))
      return child
    },
    remove
  }
}
