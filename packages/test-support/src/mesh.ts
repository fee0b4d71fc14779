import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { AMQP, POSTGRES, ROOT, cleanUp, isolatedEnvironment, startServiceProcess, uniqueName, type ServiceProcess } from '.'

export const MESH_SERVICES = ['user', 'catalog', 'order', 'notify'] as const
export type MeshService = (typeof MESH_SERVICES)[number]

// A little over the services' own shutdown timeout (SHUTDOWN_TIMEOUT_MS, 10 s).
const SHUTDOWN_GRACE_MS = 15_000

/** Where the mesh keeps its data: the machine's shared servers unless a test brings its own (the fault tests). */
export interface MeshServers {
  /** A PostgreSQL server URL without a database. */
  postgresUrl: string
  amqpUrl: string
}

/**
 * The environment of the four services for a test: one broker prefix, a database each. `env`
 * applies to all four, `envOf` to one (e.g. `{ user: { JWT_EXPIRES_IN: '4s' } }`, or a fixed
 * `PORT` and `OPS_PORT` for a service that is to be restarted at the same URLs).
 */
export const meshEnvironment = (
  label: string,
  options: {
    env?: Record<string, string>
    envOf?: Partial<Record<MeshService, Record<string, string>>>
    servers?: MeshServers
  } = {}
) => {
  const servers = options.servers ?? { postgresUrl: POSTGRES, amqpUrl: AMQP }
  const { AMQP_PREFIX, EVENT_RETRY_DELAYS_MS } = isolatedEnvironment(label)
  const env = Object.fromEntries(
    MESH_SERVICES.map((name): [MeshService, Record<string, string>] => [
      name,
      {
        AMQP_URL: servers.amqpUrl,
        AMQP_PREFIX,
        EVENT_RETRY_DELAYS_MS,
        PORT: '0',
        OPS_PORT: '0',
        DATABASE_URL: `${servers.postgresUrl}/${uniqueName(`${label}_${name}`)}`,
        // Eight processes of a two-instance mesh and another test file beside them must fit in a
        // stock PostgreSQL's 100 connections (each process also holds its relay's and listener's).
        DATABASE_POOL_MAX: '4',
        ...options.env,
        ...options.envOf?.[name]
      }
    ])
  ) as Record<MeshService, Record<string, string>>
  return { prefix: AMQP_PREFIX, servers, env }
}

export type MeshEnvironment = ReturnType<typeof meshEnvironment>

const stopProcess = async (service: ServiceProcess) => {
  service.child.kill('SIGTERM')
  const killing = setTimeout(() => service.child.kill('SIGKILL'), SHUTDOWN_GRACE_MS)
  await service.exited
  clearTimeout(killing)
}

/**
 * The four services as real processes, for tests that cross services (their events reach each other
 * as in production). With `instances`, that many processes of each, on ports of their own, sharing
 * their service's database and the broker prefix, as behind a load balancer.
 */
export const startMesh = async ({ prefix, servers, env }: MeshEnvironment, { instances = 1 } = {}) => {
  const instancesOf = Object.fromEntries(MESH_SERVICES.map((name) => [name, [] as ServiceProcess[]])) as Record<MeshService, ServiceProcess[]>
  // Four starts (or more) at once on a busy machine take a while, and so does a restart amid a fault test's load.
  const start = async (name: MeshService, instance = 0) => {
    instancesOf[name][instance] = await startServiceProcess(`${name}-service`, env[name], { startTimeoutMs: 120_000 })
  }
  /** Stops them all (SIGTERM, SIGKILL for one still there after its shutdown timeout) and removes their databases, `extraDatabases` too, and the broker prefix. */
  const stop = async (extraDatabases: string[] = []) => {
    await Promise.all(Object.values(instancesOf).flat().map(stopProcess))
    await cleanUp({
      prefix,
      amqpUrl: servers.amqpUrl,
      retryDelaysMs: env.user.EVENT_RETRY_DELAYS_MS.split(',').map(Number),
      databases: [...MESH_SERVICES.map((name) => env[name].DATABASE_URL), ...extraDatabases]
    })
  }
  const starts = MESH_SERVICES.flatMap((name) => Array.from({ length: instances }, (_, instance) => start(name, instance)))
  const failed = (await Promise.allSettled(starts)).find((outcome) => outcome.status === 'rejected')
  if (failed) {
    await stop()
    throw failed.reason
  }
  // A restarted instance's process replaces the killed one's.
  const first = (name: MeshService) => instancesOf[name][0]
  return {
    prefix,
    servers,
    /** Each service's environment, e.g. for the CLI on its database. */
    env,
    /** Where each service's first instance answered when the mesh started: the same after a restart only on a fixed `PORT`. */
    urls: Object.fromEntries(MESH_SERVICES.map((name) => [name, first(name).url])) as Record<MeshService, string>,
    /** Where each service's first instance serves `GET /metrics` (its ops port): the same after a restart only on a fixed `OPS_PORT`. */
    opsUrls: Object.fromEntries(MESH_SERVICES.map((name) => [name, first(name).opsUrl])) as Record<MeshService, string>,
    /** Every instance of each service, in start order. */
    instances: instancesOf,
    /** Kills the service's first instance without warning (SIGKILL) and waits until it is gone. */
    kill: async (name: MeshService) => {
      first(name).child.kill('SIGKILL')
      await first(name).exited
    },
    /** Starts the service's first instance again (after `kill`), on the same environment. */
    start: (name: MeshService) => start(name),
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

/**
 * `marketmesh …` as an operator runs it against the mesh: its databases (MARKETMESH_<SERVICE>_DATABASE_URL),
 * URLs and broker prefix. Resolves with the exit code and output, whatever the code.
 */
export const operatorCommand = (mesh: Mesh, args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const env: Record<string, string> = { AMQP_URL: mesh.env.order.AMQP_URL, AMQP_PREFIX: mesh.env.order.AMQP_PREFIX }
    for (const name of MESH_SERVICES) {
      env[`MARKETMESH_${name.toUpperCase()}_DATABASE_URL`] = mesh.env[name].DATABASE_URL
      env[`MARKETMESH_${name.toUpperCase()}_URL`] = mesh.urls[name]
    }
    execFile(
      process.execPath,
      [join(ROOT, 'packages', 'cli', 'lib', 'index.js'), ...args],
      { env: { ...process.env, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr })
    )
  })
