import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { POSTGRES, ROOT, cleanUp, isolatedEnvironment, startServiceProcess, uniqueName, type ServiceProcess } from '.'

export const MESH_SERVICES = ['user', 'catalog', 'order', 'notify'] as const
export type MeshService = (typeof MESH_SERVICES)[number]

// A little over the services' own shutdown timeout (SHUTDOWN_TIMEOUT_MS, 10 s).
const SHUTDOWN_GRACE_MS = 15_000

/**
 * The environment of the four services for a test: one broker prefix, a database each. `env`
 * applies to all four, `envOf` to one (e.g. `{ user: { JWT_EXPIRES_IN: '4s' } }`).
 */
export const meshEnvironment = (
  label: string,
  options: { env?: Record<string, string>; envOf?: Partial<Record<MeshService, Record<string, string>>> } = {}
) => {
  const { AMQP_PREFIX, EVENT_RETRY_DELAYS_MS } = isolatedEnvironment(label)
  const env = Object.fromEntries(
    MESH_SERVICES.map((name) => [
      name,
      {
        AMQP_PREFIX,
        EVENT_RETRY_DELAYS_MS,
        PORT: '0',
        DATABASE_URL: `${POSTGRES}/${uniqueName(`${label}_${name}`)}`,
        ...options.env,
        ...options.envOf?.[name]
      }
    ])
  ) as Record<MeshService, Record<string, string>>
  return { prefix: AMQP_PREFIX, env }
}

export type MeshEnvironment = ReturnType<typeof meshEnvironment>

/**
 * The four services as real processes, for tests that cross services (their events reach each other
 * as in production). With `instances`, that many processes of each, on ports of their own, sharing
 * their service's database and the broker prefix, as behind a load balancer.
 */
export const startMesh = async ({ prefix, env }: MeshEnvironment, { instances = 1 } = {}) => {
  const starts = MESH_SERVICES.flatMap((name) => Array.from({ length: instances }, () => name))
  // Four starts (or more) at once on a busy machine take a while.
  const outcomes = await Promise.allSettled(starts.map((name) => startServiceProcess(`${name}-service`, env[name], { startTimeoutMs: 120_000 })))
  const started = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
  /** Stops them all (SIGTERM, SIGKILL for one still there after its shutdown timeout) and removes their databases, `extraDatabases` too, and the broker prefix. */
  const stop = async (extraDatabases: string[] = []) => {
    for (const service of started) service.child.kill('SIGTERM')
    await Promise.all(
      started.map(async (service) => {
        const killing = setTimeout(() => service.child.kill('SIGKILL'), SHUTDOWN_GRACE_MS)
        await service.exited
        clearTimeout(killing)
      })
    )
    await cleanUp({ prefix, databases: [...MESH_SERVICES.map((name) => env[name].DATABASE_URL), ...extraDatabases] })
  }
  const failed = outcomes.find((outcome) => outcome.status === 'rejected')
  if (failed) {
    await stop()
    throw failed.reason
  }
  const instancesOf = Object.fromEntries(
    MESH_SERVICES.map((name, index) => [name, started.slice(index * instances, (index + 1) * instances)])
  ) as Record<MeshService, ServiceProcess[]>
  const processes = Object.fromEntries(MESH_SERVICES.map((name) => [name, instancesOf[name][0]])) as Record<MeshService, ServiceProcess>
  return {
    prefix,
    /** Each service's environment, e.g. for the CLI on its database. */
    env,
    /** The first instance of each service. */
    processes,
    urls: Object.fromEntries(MESH_SERVICES.map((name) => [name, processes[name].url])) as Record<MeshService, string>,
    /** Every instance of each service, in start order. */
    instances: instancesOf,
    stop
  }
}

export type Mesh = Awaited<ReturnType<typeof startMesh>>

/** An admin, made the way an operator makes one: `marketmesh users create-admin` on user-service's database (`userEnvironment`). */
export const createAdmin = (userEnvironment: Record<string, string>, admin: { email: string; name: string; password: string }) =>
  promisify(execFile)(
    process.execPath,
    [
      join(ROOT, 'packages', 'cli', 'lib', 'index.js'),
      'users',
      'create-admin',
      '--email',
      admin.email,
      '--name',
      admin.name,
      '--password',
      admin.password
    ],
    { env: { ...process.env, NODE_ENV: 'test', ...userEnvironment } }
  )
