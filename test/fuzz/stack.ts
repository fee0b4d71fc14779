import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { ROOT, type ServiceProcess } from '@marketmesh/test-support'
import { meshEnvironment, startMesh, type MeshService } from '@marketmesh/test-support/mesh'

const run = promisify(execFile)

export const SERVICES = ['user-service', 'catalog-service', 'order-service', 'notify-service'] as const
export type ServiceName = (typeof SERVICES)[number]

const meshNames: Record<ServiceName, MeshService> = {
  'user-service': 'user',
  'catalog-service': 'catalog',
  'order-service': 'order',
  'notify-service': 'notify'
}
const meshNameOf = (name: ServiceName) => meshNames[name]

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

/** The four services as processes (see startMesh), with the routes each registers. */
export const startStack = async () => {
  const environment = meshEnvironment('fuzz')
  const [mesh, tables] = await Promise.allSettled([
    startMesh(environment),
    Promise.all(SERVICES.map((name) => routeTableOf(name, environment.env[meshNameOf(name)])))
  ])
  if (mesh.status === 'rejected') throw mesh.reason
  if (tables.status === 'rejected') {
    await mesh.value.stop()
    throw tables.reason
  }
  const services: RunningService[] = SERVICES.map((name, index) => ({
    ...mesh.value.instances[meshNameOf(name)][0],
    ...tables.value[index],
    name,
    env: environment.env[meshNameOf(name)]
  }))
  const byName = Object.fromEntries(services.map((service) => [service.name, service])) as Record<ServiceName, RunningService>
  return { prefix: environment.prefix, services, byName, stop: mesh.value.stop }
}

export type Stack = Awaited<ReturnType<typeof startStack>>
