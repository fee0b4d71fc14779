import { AMQP, POSTGRES, cleanUp, isolatedEnvironment, startServiceProcess, uniqueName, type ServiceProcess } from '.'

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
 * `PORT` for a service that is to be restarted at the same URL).
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
        DATABASE_URL: `${servers.postgresUrl}/${uniqueName(`${label}_${name}`)}`,
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

/** The four services as real processes, for tests that cross services (their events reach each other as in production). */
export const startMesh = async ({ prefix, servers, env }: MeshEnvironment) => {
  const processes = {} as Record<MeshService, ServiceProcess>
  // Four starts at once on a busy machine take a while, and so does a restart amid a fault test's load.
  const start = async (name: MeshService) => {
    processes[name] = await startServiceProcess(`${name}-service`, env[name], { startTimeoutMs: 120_000 })
  }
  /** Stops the four (SIGTERM, SIGKILL for one still there after its shutdown timeout) and removes their databases, `extraDatabases` too, and the broker prefix. */
  const stop = async (extraDatabases: string[] = []) => {
    await Promise.all(Object.values(processes).map(stopProcess))
    await cleanUp({
      prefix,
      amqpUrl: servers.amqpUrl,
      retryDelaysMs: env.user.EVENT_RETRY_DELAYS_MS.split(',').map(Number),
      databases: [...MESH_SERVICES.map((name) => env[name].DATABASE_URL), ...extraDatabases]
    })
  }
  const failed = (await Promise.allSettled(MESH_SERVICES.map(start))).find((outcome) => outcome.status === 'rejected')
  if (failed) {
    await stop()
    throw failed.reason
  }
  return {
    prefix,
    servers,
    /** Each service's environment, e.g. for the CLI on its database. */
    env,
    /** Each service's current process (a restarted one's replaces the killed one's). */
    processes,
    /** Where each answered when the mesh started: the same after a restart only on a fixed `PORT`. */
    urls: Object.fromEntries(MESH_SERVICES.map((name) => [name, processes[name].url])) as Record<MeshService, string>,
    /** Kills the service's process without warning (SIGKILL) and waits until it is gone. */
    kill: async (name: MeshService) => {
      processes[name].child.kill('SIGKILL')
      await processes[name].exited
    },
    /** Starts the service again (after `kill`), on the same environment. */
    start,
    stop
  }
}

export type Mesh = Awaited<ReturnType<typeof startMesh>>
