import type { Knex } from 'knex'

/**
 * The only place the kit relies on knex beyond its documented query API: runInTransaction, afterCommit,
 * beforeAnswering, queryPooled, queryInTransaction and disposeConnection. Each is covered by packages/events/test/transaction.test.ts,
 * knex-internals.test.ts and prepared-statements.test.ts, which fail if a knex upgrade changes what
 * they rely on.
 */

/**
 * What a transaction of `runInTransaction` owns. Its `_lastChild`, `isCompleted` and `transactor`
 * are what knex's own nested transactions (`trx.transaction`, `trx.savepoint`) read from the
 * transaction they are nested in, so this object is handed to knex as that outer transaction.
 */
interface TransactionState {
  connection: unknown
  completed: boolean
  _lastChild: Promise<unknown>
  isCompleted(): boolean
  transactor: Knex.Transaction
}

// A symbol, not a name: the transaction's knex context and client are knex objects with names of their own.
const STATE = Symbol('marketmesh transaction')

/** Per knex instance: what all of its transactions share, built once. */
interface Prototypes {
  transactor: object
  context: object
  client: object
}

const prototypesOf = new WeakMap<Knex, Prototypes>()

/**
 * knex's tx client (makeTxClient) is the client's dialect prototype with a few of the client's fields
 * copied; these read through to the client instead, as the version is only known after its first connection.
 */
const CLIENT_FIELDS = ['version', 'config', 'driver', 'connectionSettings', 'valueForUndefined', 'logger']

/** knex's internals the transaction is built of: untyped in its declarations. */
type Internal = Record<string | symbol, any>

const buildPrototypes = (db: Knex): Prototypes => {
  const root = db.client
  const dialect = Object.getPrototypeOf(root)
  const client = Object.create(dialect, {
    ...Object.fromEntries(CLIENT_FIELDS.map((field) => [field, { get: () => root[field] }])),
    transacting: { value: true },
    acquireConnection: {
      value(this: { [STATE]: TransactionState }) {
        return Promise.resolve(this[STATE].connection)
      }
    },
    releaseConnection: { value: () => Promise.resolve() },
    query: {
      value(this: { [STATE]: TransactionState }, connection: unknown, query: unknown) {
        if (this[STATE].completed) return Promise.reject(new Error('Transaction query already complete'))
        return dialect.query.call(this, connection, query)
      }
    },
    stream: {
      value(this: { [STATE]: TransactionState }, connection: unknown, query: unknown, stream: unknown, options: unknown) {
        if (this[STATE].completed) return Promise.reject(new Error('Transaction query already complete'))
        return dialect.stream.call(this, connection, query, stream, options)
      }
    },
    // Query events go to the transaction (`trx.on('query')`) and on to the client, where `db.on` hears them.
    emit: {
      value(this: { [STATE]: TransactionState }, event: string, ...args: unknown[]) {
        this[STATE].transactor.emit(event, ...args)
        return root.emit(event, ...args)
      }
    }
  })
  const context = Object.create((db as unknown as Internal).context, {
    // Within a transaction, `transaction` opens a savepoint: knex's nested transaction, on this one.
    transaction: {
      value(
        this: { [STATE]: TransactionState; _transaction: (...args: unknown[]) => unknown },
        container: unknown,
        options?: { doNotRejectOnRollback?: boolean }
      ) {
        return this._transaction(container, { doNotRejectOnRollback: true, ...options }, this[STATE])
      }
    },
    withUserParams: {
      value() {
        throw new Error('Cannot set user params on a transaction - it can only inherit params from main knex instance')
      }
    }
  })
  const transactor = Object.create(db, {
    isTransaction: { value: true },
    savepoint: {
      value(this: Internal, container: unknown, options?: object) {
        return this.transaction(container, options)
      }
    },
    isCompleted: {
      value(this: { context: { [STATE]: TransactionState } }) {
        return this.context[STATE].completed
      }
    }
  })
  return { transactor, context, client }
}

/**
 * A Knex.Transaction on `connection`, on which BEGIN has run. knex builds a whole knex instance for
 * each transaction (makeKnex: a closure per query builder method, some 130, property definitions, an
 * event emitter), which was the largest cost of a one-event transaction. This one inherits all of it
 * from the service's knex instance and holds only what is its own.
 */
const openTransaction = (db: Knex, connection: { query(sql: string): Promise<{ command: string }> }) => {
  let prototypes = prototypesOf.get(db)
  if (!prototypes) prototypesOf.set(db, (prototypes = buildPrototypes(db)))
  const state: TransactionState = {
    connection,
    completed: false,
    _lastChild: Promise.resolve(),
    isCompleted: () => state.completed,
    transactor: undefined as never
  }
  const client = Object.create(prototypes.client)
  client[STATE] = state
  const context = Object.create(prototypes.context)
  context.client = client
  context[STATE] = state
  // Callable like knex itself: trx('table') starts a query builder on the transaction's client.
  const trx = function (tableName?: string, options?: object) {
    const builder = context.queryBuilder()
    return tableName ? builder.table(tableName, options) : builder
  } as Internal
  Object.setPrototypeOf(trx, prototypes.transactor)
  trx.context = context
  // Its own listeners (`trx.on`), not the inherited ones of the knex instance.
  trx._events = undefined
  trx._eventsCount = 0
  let resolve!: (value: unknown) => void
  let reject!: (error: unknown) => void
  trx.executionPromise = new Promise((resolveExecution, rejectExecution) => {
    resolve = resolveExecution
    reject = rejectExecution
  })
  const end = (sql: 'COMMIT' | 'ROLLBACK') => {
    // As in knex: ending twice does nothing, and nothing more runs once the end is on its way.
    if (state.completed) return Promise.resolve(undefined)
    state.completed = true
    return connection.query(sql)
  }
  trx.commit = (value?: unknown) =>
    end('COMMIT').then(
      // A statement failed and its error was caught: PostgreSQL answers COMMIT by rolling back.
      (result) => (result?.command === 'ROLLBACK' ? reject(new Error('Transaction rolled back: a statement in it failed')) : resolve(value)),
      reject
    )
  // Rolling back without an error resolves, as knex's default `doNotRejectOnRollback` does.
  trx.rollback = (error?: unknown) =>
    end('ROLLBACK').then(
      () => (error === undefined ? resolve(undefined) : reject(error)),
      (rollbackError) => reject(error ?? rollbackError)
    )
  state.transactor = trx as Knex.Transaction
  return trx as Knex.Transaction
}

/**
 * `db.transaction(work)` at a fraction of its cost; what services and the kit open transactions with.
 * `work` gets a real Knex.Transaction: query builders, `raw`, `fn`, `.transacting(trx)`, nested
 * `trx.transaction` / `trx.savepoint`, `executionPromise`, and @feathersjs/knex services take it as
 * `params.transaction.trx`. Commits when `work` resolves (resolving with its value) and rolls back when
 * it throws (rejecting with its error); `trx.commit()` / `trx.rollback()` end it early, as in knex.
 * Given a transaction instead of `db`, it runs `work` in a savepoint of it.
 * BEGIN and COMMIT go to the connection itself: they are the only statements knex's query events miss.
 */
export const runInTransaction = async <T>(db: Knex, work: (trx: Knex.Transaction) => T | Promise<T>): Promise<T> => {
  // Given a transaction, its connection is already in one: a savepoint is what nests. Its
  // commit tasks wait for the outer commit (a savepoint rolled back leaves them: they only drop cache entries).
  if (db.isTransaction) {
    const outer = db as Knex.Transaction
    return outer.savepoint((nested) => {
      const tasks = commitTasks.get(outer)
      if (tasks) commitTasks.set(nested, tasks)
      return work(nested)
    })
  }
  const connection = await db.client.acquireConnection()
  const tasks: CommitTask[] = []
  let value: T
  try {
    await connection.query('BEGIN')
    const trx = openTransaction(db, connection)
    commitTasks.set(trx, tasks)
    Promise.resolve()
      .then(() => work(trx))
      .then(trx.commit, trx.rollback)
    value = (await trx.executionPromise) as T
  } finally {
    db.client.releaseConnection(connection)
  }
  for (const task of tasks) await task()
  return value
}

/** Work that must be done once a transaction committed and before its caller goes on; it handles its own errors. */
export type CommitTask = () => Promise<void>

const commitTasks = new WeakMap<Knex.Transaction, CommitTask[]>()

/**
 * Runs `task` after `trx` commits (never after a rollback), and, for a transaction of
 * `runInTransaction`, before `runInTransaction` returns: a write that drops cache entries answers
 * only once they are dropped. On another transaction (knex's own) it runs after commit, unawaited.
 */
export const beforeAnswering = (trx: Knex.Transaction, task: CommitTask) => {
  const tasks = commitTasks.get(trx)
  if (tasks) tasks.push(task)
  else afterCommit(trx, () => void task())
}

/** Runs `callback` once `trx` has committed (never after a rollback); knex has no commit hook. */
export const afterCommit = (trx: Knex.Transaction, callback: () => void) => {
  trx.executionPromise.then(callback, () => undefined)
}

/** The part of node-postgres' client a raw query needs. */
export interface PooledConnection {
  query<R>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>
}

/**
 * Runs `sql` (`$1`… placeholders) on `trx`'s connection, past knex's query builder and runner: for
 * a transaction's hottest statements, written once as SQL (in bench/checkout, building statements
 * was order-service's largest JavaScript cost, ~3 ms per order). The rows as node-postgres parses
 * them; knex's query events do not hear it, as they do not hear BEGIN and COMMIT.
 */
export const queryInTransaction = async <R>(trx: Knex.Transaction, sql: string, values: unknown[]): Promise<R[]> => {
  if (trx.isCompleted()) throw new Error('Transaction query already complete')
  const connection: PooledConnection = await trx.client.acquireConnection()
  return (await connection.query<R>(sql, values)).rows
}

/**
 * How a claim of due rows from a queue-like table runs (side effects, webhook deliveries), as
 * `queryPooled`'s local settings. A claim is a lease: were its commit lost with the server, the rows
 * would only be claimed again, with the same ids, as after a claimer's death; so it does not wait
 * for the disk. Its plan walks the head of the table's partial "due" index: an index scan marks the
 * entries of rows no longer due dead as it passes them, where a bitmap scan (the planner's pick on
 * lagging statistics: a burst of new rows, a table never analyzed) reads them all again at every
 * claim: a soak measured 231 blocks per side-effect claim, growing with the table.
 */
export const LEASE_CLAIM_SETTINGS: Readonly<Record<string, string>> = { synchronous_commit: 'off', enable_bitmapscan: 'off' }

/**
 * Runs one query on a connection of knex's pool, skipping knex's query runner (for the hottest
 * paths, where that runner is a measurable share of a request's CPU). With `localSettings`, the
 * query runs in a transaction of its own with each of them `SET LOCAL` (for a statement whose
 * commit need not wait for the disk, or whose plan must not follow lagging statistics).
 */
export const queryPooled = async <R>(db: Knex, sql: string, values: unknown[], localSettings?: Record<string, string>): Promise<R[]> => {
  const connection: PooledConnection = await db.client.acquireConnection()
  try {
    if (!localSettings) return (await connection.query<R>(sql, values)).rows
    const settings = Object.entries(localSettings).map(([name, value]) => `SET LOCAL ${name} = ${value}`)
    await connection.query(['BEGIN', ...settings].join('; '))
    try {
      const { rows } = await connection.query<R>(sql, values)
      await connection.query('COMMIT')
      return rows
    } catch (error) {
      await connection.query('ROLLBACK').catch((rollbackError: unknown) => disposeConnection(connection, rollbackError))
      throw error
    }
  } finally {
    db.client.releaseConnection(connection)
  }
}

/** Has knex's pool destroy `connection` instead of handing it out again (the flag its pg dialect sets on a connection error). */
export const disposeConnection = (connection: object, reason: unknown) => {
  ;(connection as { __knex__disposed?: unknown }).__knex__disposed = reason
}
