import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { cleanUp, isolatedEnvironment, ROOT, startServiceProcess, type ServiceProcess } from '../support'

const run = promisify(execFile)

export const SERVICES = ['user-service', 'catalog-service', 'order-service', 'notify-service'] as const
export type ServiceName = (typeof SERVICES)[number]

export interface RouteTable {
  routes: Array<{ path: string; methods: string[] }>
  httpPaths: string[]
}

export interface RunningService extends ServiceProcess, RouteTable {
  name: ServiceName
  env: Record<string, string>
}

/** The routes a service registers, read from its own app in a process of its own (see routes.mjs). */
const routeTableOf = async (name: ServiceName, env: Record<string, string>): Promise<RouteTable> => {
  const { stdout } = await run(process.execPath, [join(__dirname, 'routes.mjs'), name], {
    cwd: join(ROOT, 'packages', name),
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env }
  })
  return JSON.parse(stdout)
}

/**
 * The four services as processes, each on its own database, sharing one broker prefix so that
 * their events reach each other as in production.
 */
export const startStack = async () => {
  const prefix = isolatedEnvironment('fuzz').AMQP_PREFIX
  const envs = SERVICES.map((name) => ({ ...isolatedEnvironment(`fuzz_${name}`), AMQP_PREFIX: prefix }))
  const started = await Promise.allSettled(
    SERVICES.map(async (name, index): Promise<RunningService> => {
      const env = envs[index]
      const [process, table] = await Promise.all([startServiceProcess(name, env), routeTableOf(name, env)])
      return { ...process, ...table, name, env }
    })
  )
  const services = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  const stop = async (databases: string[] = []) => {
    for (const service of services) service.child.kill('SIGTERM')
    await Promise.all(services.map((service) => service.exited))
    await cleanUp({ prefix, databases: [...envs.map((env) => env.DATABASE_URL), ...databases] })
  }
  const failed = started.find((result) => result.status === 'rejected')
  if (failed) {
    await stop()
    throw failed.reason
  }
  const byName = Object.fromEntries(services.map((service) => [service.name, service])) as Record<ServiceName, RunningService>
  return { prefix, services, byName, stop }
}

export type Stack = Awaited<ReturnType<typeof startStack>>
