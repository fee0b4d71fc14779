import knex, { type Knex } from 'knex'
import pg from 'pg'
import type { Logger } from './logger'
import type { BaseSettings } from './settings'

// BIGINT (int8) and NUMERIC come back as strings by default; our ids and counts fit in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value))

export type { Knex }

/** One knex migration: the module a file in `migrations/` exports. */
export interface Migration {
  up(knex: Knex): Promise<void>
  down(knex: Knex): Promise<void>
}

/** Migrations run in the order of their names; a service lists its own in `migrations/index.ts`. */
export type MigrationList = Record<string, Migration>

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
        // Another instance created it first.
        if (error.code !== '42P04') throw error
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
    pool: settings.pool,
    ...(logger && {
      log: {
        warn: (message: string) => logger.warn({ knex: message }, 'database warning'),
        error: (message: string) => logger.error({ knex: message }, 'database error'),
        deprecate: (method: string, alternative: string) => logger.warn({ knex: `${method} is deprecated, use ${alternative}` }, 'database warning'),
        debug: () => undefined
      }
    })
  })

export const migrateLatest = async (db: Knex, migrations: MigrationList) => {
  const [, applied] = await db.migrate.latest({ migrationSource: new ListedMigrations(migrations) })
  return applied as string[]
}
