import { POSTGRES, cleanUp, isolatedEnvironment, startServiceProcess, uniqueName, type ServiceProcess } from '.'

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

/** The four services as real processes, for tests that cross services (their events reach each other as in production). */
export const startMesh = async ({ prefix, env }: MeshEnvironment) => {
  // Four starts at once on a busy machine take a while.
  const outcomes = await Promise.allSettled(
    MESH_SERVICES.map((name) => startServiceProcess(`${name}-service`, env[name], { startTimeoutMs: 120_000 }))
  )
  const started = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
  /** Stops the four (SIGTERM, SIGKILL for one still there after its shutdown timeout) and removes their databases, `extraDatabases` too, and the broker prefix. */
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
  const processes = Object.fromEntries(MESH_SERVICES.map((name, index) => [name, started[index]])) as Record<MeshService, ServiceProcess>
  return {
    prefix,
    /** Each service's environment, e.g. for the CLI on its database. */
    env,
    processes,
    urls: Object.fromEntries(MESH_SERVICES.map((name) => [name, processes[name].url])) as Record<MeshService, string>,
    stop
  }
}
