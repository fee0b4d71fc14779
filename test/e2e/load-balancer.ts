import { MESH_SERVICES, type Mesh, type MeshService } from '@marketmesh/test-support/mesh'

/** Looks at each answer the balancer passes back (e.g. checks it against the service's OpenAPI document). */
export type AnswerInspector = (service: MeshService, request: { method: string; path: string; query: string }, response: Response) => Promise<void>

export interface Served {
  service: MeshService
  instance: number
  method: string
  path: string
}

/**
 * A round-robin load balancer in front of the mesh's instances, as one client sees it: the client
 * is given the first instance's URLs and this `fetch`, which sends each request to the next
 * instance of its service (starting at `offset`), so that consecutive calls, logins, retries and
 * stream reconnections land on different processes. It records which instance served what, and
 * hands each answer to `inspect` before the client reads it.
 */
export const loadBalancer = (mesh: Mesh, offset = 0, inspect?: AnswerInspector) => {
  const origins = new Map(MESH_SERVICES.map((service) => [new URL(mesh.urls[service]).origin, service]))
  const turns = Object.fromEntries(MESH_SERVICES.map((service) => [service, offset])) as Record<MeshService, number>
  const served: Served[] = []
  const balanced: typeof fetch = async (input, init) => {
    // The client and the eventsource package call fetch with a URL. Not with a Request, and none is
    // made here: a signal that follows another through a Request that was garbage-collected never
    // aborts (undici), and a closed stream would go on reading.
    if (input instanceof Request) throw new Error('load balancer: call fetch with a URL and init')
    const url = new URL(input)
    const service = origins.get(url.origin)
    if (!service) throw new Error(`load balancer: ${url.origin} is no service of the mesh`)
    const instances = mesh.instances[service]
    const instance = turns[service]++ % instances.length
    url.host = new URL(instances[instance].url).host
    const method = init?.method ?? 'GET'
    served.push({ service, instance, method, path: url.pathname })
    const response = await fetch(url, init)
    await inspect?.(service, { method, path: url.pathname, query: url.search.slice(1) }, response)
    return response
  }
  return {
    fetch: balanced,
    served,
    /** The instances of `service` that served requests to `path` (all paths without it). */
    instancesThatServed: (service: MeshService, path?: string) =>
      new Set(served.filter((entry) => entry.service === service && (!path || entry.path === path)).map((entry) => entry.instance))
  }
}

export type LoadBalancer = ReturnType<typeof loadBalancer>
