import { Option, type Command } from 'commander'
import { redactUrl } from '@marketmesh/shared/ops'

/** The four services, where they answer and where their databases are by default (their config/default.json). */
export const SERVICES = [
  { name: 'user-service', key: 'user', port: 3031 },
  { name: 'catalog-service', key: 'catalog', port: 3032 },
  { name: 'order-service', key: 'order', port: 3033 },
  { name: 'notify-service', key: 'notify', port: 3034 }
] as const

export type Service = (typeof SERVICES)[number]

/** Where a setting of one service comes from, for error messages. */
export const settingSource = (service: Service, setting: 'url' | 'databaseUrl') =>
  setting === 'url'
    ? `--${service.key}-url or MARKETMESH_${service.key.toUpperCase()}_URL`
    : `--${service.key}-database-url or MARKETMESH_${service.key.toUpperCase()}_DATABASE_URL`

/** --user-url … --notify-url: each service's HTTP address (env MARKETMESH_<SERVICE>_URL, as `npm start` names them). */
export const addServiceUrlOptions = (command: Command) => {
  for (const service of SERVICES) {
    command.addOption(
      new Option(`--${service.key}-url <url>`, `${service.name}'s address`)
        .env(`MARKETMESH_${service.key.toUpperCase()}_URL`)
        .default(`http://127.0.0.1:${service.port}`)
    )
  }
  return command
}

/**
 * --user-database-url … --notify-database-url: each service's database (env
 * MARKETMESH_<SERVICE>_DATABASE_URL, the DATABASE_URL `npm start` gives that service).
 */
export const addDatabaseOptions = (command: Command) => {
  for (const service of SERVICES) {
    command.addOption(
      new Option(`--${service.key}-database-url <url>`, `${service.name}'s PostgreSQL database`)
        .env(`MARKETMESH_${service.key.toUpperCase()}_DATABASE_URL`)
        .default(`postgres://postgres@127.0.0.1:5432/marketmesh_${service.key}`)
    )
  }
  return command
}

export type ServiceOptions = Record<string, unknown>

export const serviceUrl = (options: ServiceOptions, service: Service) => String(options[`${service.key}Url`])
export const databaseUrl = (options: ServiceOptions, service: Service) => String(options[`${service.key}DatabaseUrl`])

/** "order-service's database at postgres://… (set by --order-database-url or MARKETMESH_ORDER_DATABASE_URL)" */
export const describeDatabase = (options: ServiceOptions, service: Service) =>
  `${service.name}'s database at ${redactUrl(databaseUrl(options, service))} (set by ${settingSource(service, 'databaseUrl')})`
