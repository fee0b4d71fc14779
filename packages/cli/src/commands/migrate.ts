import { Option, type Command } from 'commander'
import { examples, formatTable, print, printJson } from '../output'
import { addDatabaseOptions, databaseUrl, describeDatabase, SERVICES, type Service, type ServiceOptions } from '../services'

type MigrateOptions = ServiceOptions & { service?: Service['name']; json?: boolean }

/** The service's migrations (the event backbone's, then its own) and its database, with knex on it for the call. */
const withMigrations = async <T>(options: MigrateOptions, service: Service, use: (context: MigrationContext) => Promise<T>) => {
  // Loaded on demand: the other commands need neither the services' migrations nor knex.
  const { createKnex, serviceMigrations } = await import('@marketmesh/shared')
  const { migrations } = (await import(`@marketmesh/${service.name}/migrations`)) as { migrations: import('@marketmesh/shared').MigrationList }
  const connection = databaseUrl(options, service)
  const db = createKnex({ client: 'pg', connection, pool: { min: 0, max: 1 }, preparedStatements: false })
  try {
    return await use({ db, connection, migrations: serviceMigrations(migrations) })
  } catch (error) {
    throw new Error(`${describeDatabase(options, service)}: ${(error as Error).message}`)
  } finally {
    await db.destroy()
  }
}

type MigrationContext = {
  db: import('@marketmesh/shared').Knex
  connection: string
  migrations: import('@marketmesh/shared').MigrationList
}

const chosen = (options: MigrateOptions) => SERVICES.filter((service) => options.service === undefined || service.name === options.service)

const serviceOption = () => new Option('--service <name>', 'only this service').choices(SERVICES.map(({ name }) => name))

/**
 * `marketmesh migrate status | up | down`: a service's schema, as an operator runs it before a
 * rollout (the Kubernetes Job in deploy/k8s/migrate-job.yaml runs `up`). Services also migrate
 * at start unless MIGRATE_AT_START=false.
 */
export const registerMigrateCommands = (program: Command) => {
  const migrate = program
    .command('migrate')
    .description("Show, apply or undo each service's database migrations (the event backbone's tables and the service's own)")

  addDatabaseOptions(
    migrate
      .command('status')
      .description('List each service’s applied and pending migrations; exit 1 if any is pending or a database does not answer')
      .addOption(serviceOption())
      .option('--json', 'one JSON object per service, a line each')
      .addHelpText('after', examples('marketmesh migrate status', 'marketmesh migrate status --service order-service --json'))
  ).action(async (options: MigrateOptions) => {
    const { migrationStatus } = await import('@marketmesh/shared')
    let behind = false
    const rows: string[][] = []
    for (const service of chosen(options)) {
      try {
        const status = await withMigrations(options, service, ({ db, migrations }) => migrationStatus(db, migrations))
        behind ||= status.pending.length > 0
        if (options.json) printJson({ service: service.name, ...status })
        rows.push([service.name, String(status.applied.length), status.applied.at(-1) ?? '-', status.pending.join(', ') || '-'])
      } catch (error) {
        behind = true
        if (options.json) printJson({ service: service.name, error: (error as Error).message })
        rows.push([service.name, '-', '-', (error as Error).message])
      }
    }
    if (!options.json) print(formatTable(['service', 'applied', 'last applied', 'pending'], rows))
    process.exitCode = behind ? 1 : 0
  })

  addDatabaseOptions(
    migrate
      .command('up')
      .description(
        'Create each service’s database if missing and apply its pending migrations (one instance at a time: a running service waits its turn)'
      )
      .addOption(serviceOption())
      .addHelpText(
        'after',
        examples('marketmesh migrate up', 'MARKETMESH_ORDER_DATABASE_URL=postgres://… marketmesh migrate up --service order-service')
      )
  ).action(async (options: MigrateOptions) => {
    const { ensureDatabase, migrateLatest } = await import('@marketmesh/shared')
    for (const service of chosen(options)) {
      await ensureDatabase(databaseUrl(options, service)).catch((error: Error) => {
        throw new Error(`${describeDatabase(options, service)}: ${error.message}`)
      })
      const applied = await withMigrations(options, service, ({ db, migrations, connection }) => migrateLatest(db, migrations, connection))
      print(`${service.name}: ${applied.length ? `applied ${applied.join(', ')}` : 'already up to date'}`)
    }
  })

  addDatabaseOptions(
    migrate
      .command('down')
      .description('Undo the last batch of migrations of one service (what its last `up` or start applied)')
      .addOption(serviceOption().makeOptionMandatory())
      .addHelpText('after', examples('marketmesh migrate down --service notify-service'))
  ).action(async (options: MigrateOptions) => {
    const { rollbackLatest } = await import('@marketmesh/shared')
    const [service] = chosen(options)
    const undone = await withMigrations(options, service, ({ db, migrations, connection }) => rollbackLatest(db, migrations, connection))
    print(`${service.name}: ${undone.length ? `undid ${undone.join(', ')}` : 'nothing to undo'}`)
  })
}
