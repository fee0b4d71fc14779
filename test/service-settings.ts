import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from '@marketmesh/test-support'
import { environment as catalogEnvironment } from '../packages/catalog-service/src/configuration'
import { environment as notifyEnvironment } from '../packages/notify-service/src/configuration'
import { environment as orderEnvironment } from '../packages/order-service/src/configuration'
import { environment as userEnvironment } from '../packages/user-service/src/configuration'

// What deployment files (docker-compose.yml, deploy/k8s) must agree with, read from the services'
// own code and config, so that they cannot drift from it.

export const SERVICES = ['user-service', 'catalog-service', 'order-service', 'notify-service'] as const
export type ServiceName = (typeof SERVICES)[number]

const settingsEnvironments: Record<ServiceName, Record<string, unknown>> = {
  'user-service': userEnvironment,
  'catalog-service': catalogEnvironment,
  'order-service': orderEnvironment,
  'notify-service': notifyEnvironment
}

/**
 * Read besides the settings: NODE_ENV by node-config and the production checks, LOG_PRETTY by the
 * logger, and OpenTelemetry's own variables by the tracing setup (@marketmesh/shared/tracing).
 */
const PROCESS_VARIABLES = [
  'NODE_ENV',
  'LOG_PRETTY',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG'
]

/** Every environment variable the service reads: its settings' (src/configuration.ts) and the process's. */
export const environmentVariablesOf = (name: ServiceName) => new Set([...Object.keys(settingsEnvironments[name]), ...PROCESS_VARIABLES])

/** A service's port and database name, from packages/<service>/config/default.json. */
export const serviceConfig = (name: string) => {
  const config = JSON.parse(readFileSync(join(ROOT, 'packages', name, 'config', 'default.json'), 'utf8'))
  const port = config.port as number
  const database = decodeURIComponent(new URL(config.postgresql.connection).pathname.slice(1))
  if (!Number.isInteger(port) || port <= 0 || !database) throw new Error(`${name}: config/default.json lacks port or database`)
  return { port, database }
}
