import knex, { type Knex } from 'knex'
import pg from 'pg'
import type { Migration, MigrationList } from '@marketmesh/events'
import type { Logger } from './logger'
import { prepareStatements } from './prepared-statements'
import type { BaseSettings } from './settings'

// BIGINT (int8) and NUMERIC come back as strings by default; our ids and counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

export type { Knex }
export type { Migration, MigrationList }

class ListedMigrations implements Knex.MigrationSource<string> {
  constructor(private readonly migrations: MigrationList) {}
  async getMigrations() {
    return Object.keys(this.migrations).sort()
  }
  getMigrationName(name: string) {
    return name
  }
  async getMigration(name: string) {
    return this.migrations[name]
  }
}

const databaseName = (connection: string) => decodeURIComponent(new URL(connection).pathname.slice(1))

/** Creates the service's database when it is missing: a fresh machine needs no manual step. */
export const ensureDatabase = async (connection: string) => {
  const name = databaseName(connection)
  const admin = new URL(connection)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((error: { code?: string }) => {
        // Another instance created it first: 42P04 once its commit is seen, 23505 while both commit.
        if (error.code !== '42P04' && error.code !== '23505') throw error
      })
    }
  } finally {
    await client.end()
  }
}

/** Drops a database (tests clean up the unique databases they made). */
export const dropDatabase = async (connection: string) => {
  const admin = new URL(connection)
  admin.pathname = '/postgres'
  const client = new pg.Client({ connectionString: admin.toString() })
  await client.connect()
  try {
    await client.query(`DROP DATABASE IF EXISTS "${databaseName(connection).replace(/"/g, '""')}" WITH (FORCE)`)
  } finally {
    await client.end()
  }
}

/** With a logger, knex's own warnings (a lost connection, a failed acquire) become structured log lines. */
export const createKnex = (settings: BaseSettings['postgresql'], logger?: Logger): Knex =>
  knex({
    client: 'pg',
    connection: settings.connection,
    pool: {
      ...settings.pool,
      ...(settings.preparedStatements !== false && {
        afterCreate: (connection: pg.Client, done: (error: Error | null, connection: pg.Client) => void) => {
          prepareStatements(connection)
          done(null, connection)
        }
      })
    },
    ...(logger && {
      log: {
        warn: (message: string) => logger.warn({ knex: message }, 'database warning'),
        error: (message: string) => logger.error({ knex: message }, 'database error'),
        deprecate: (method: string, alternative: string) => logger.warn({ knex: `${method} is deprecated, use ${alternative}` }, 'database warning'),
        debug: () => undefined
      }
    })
  })

// Session advisory lock key (the outbox relay's is another): instances migrate one after the other.
const MIGRATION_LOCK = 0x6d6d6d67

/**
 * Applies the pending migrations, one instance of the service at a time: N instances starting at
 * once on a fresh database would otherwise race to create knex's own tables, and all but one fail
 * their start. The lock is held on a connection outside the pool, so a pool of one still migrates,
 * and PostgreSQL releases it if the process dies.
 */
export const migrateLatest = (db: Knex, migrations: MigrationList, connection: string) =>
  inMigrationTurn(connection, async () => {
    const [, applied] = await db.migrate.latest({ migrationSource: new ListedMigrations(migrations) })
    return applied as string[]
  })

/** Undoes the last batch of migrations (what one `migrateLatest` applied), in the migration turn; answers their names. */
export const rollbackLatest = (db: Knex, migrations: MigrationList, connection: string) =>
  inMigrationTurn(connection, async () => {
    const [, undone] = await db.migrate.rollback({ migrationSource: new ListedMigrations(migrations) })
    return undone as string[]
  })

/** Which of the migrations are applied and which pending, in the order they run. */
export const migrationStatus = async (db: Knex, migrations: MigrationList) => {
  const [applied, pending] = (await db.migrate.list({ migrationSource: new ListedMigrations(migrations) })) as [Array<{ name: string }>, string[]]
  return { applied: applied.map(({ name }) => name), pending }
}

const inMigrationTurn = async <T>(connection: string, migrate: () => Promise<T>) => {
  const lock = new pg.Client({ connectionString: connection, application_name: 'migrations' })
  // Losing it mid-way ends the turn early, which knex's lock in the migration transaction still covers.
  lock.on('error', () => undefined)
  await lock.connect()
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    return await migrate()
  } finally {
    await lock.end()
  }
}
