import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { baseDefaults, METRICS_PATH } from '@marketmesh/shared'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { environmentVariablesOf, serviceConfig, SERVICES, type ServiceName } from './service-settings'

/**
 * deploy/k8s cannot be applied here (no cluster): this reads every manifest and checks it against
 * the services' own code and config (ports, health paths, the variables their settings read).
 */
const ROOT = join(__dirname, '..')
const K8S = join(ROOT, 'deploy', 'k8s')

type Entry = Record<string, any>
interface Manifest extends Entry {
  apiVersion: string
  kind: string
  metadata: { name: string; [key: string]: unknown }
}

/** What holds passwords or keys: only ever from a Secret. */
const SECRET_VARIABLES = [
  'DATABASE_URL',
  'AMQP_URL',
  'REDIS_URL',
  'JWT_PRIVATE_KEY',
  'SMTP_URL',
  'WEBHOOK_SECRET_KEYS',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'STRIPE_CONNECT_WEBHOOK_SECRET',
  'PAYMENT_TEST_WEBHOOK_SECRET'
]

const yamlFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? yamlFiles(join(dir, entry.name)) : /\.ya?ml$/.test(entry.name) ? [join(dir, entry.name)] : []
  )

const readDocuments = (path: string): Entry[] =>
  parseAllDocuments(readFileSync(path, 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${relative(ROOT, path)}: ${document.errors[0].message}`)
    return document.toJS() as Entry
  })

/** Kinds of the operators the manifests are for, which kubernetes-models has no schema of. */
const CUSTOM_KINDS = ['rabbitmq.com/v1beta1/RabbitmqCluster', 'monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule']

/** kubernetes-models' class of a built-in kind: `kubernetes-models/<group>/<version>/<Kind>`, core ones `kubernetes-models/v1/<Kind>`. */
const modelOf = (apiVersion: string, kind: string): (new (data: Entry) => { validate(): void }) | undefined => {
  try {
    return createRequire(__filename)(`kubernetes-models/${apiVersion}/${kind}`)[kind]
  } catch {
    return undefined
  }
}

const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as Entry
const manifests = (kustomization.resources as string[]).flatMap((file) => readDocuments(join(K8S, file))) as Manifest[]

const find = (kind: string, name: string): Manifest => {
  const manifest = manifests.find((candidate) => candidate.kind === kind && candidate.metadata?.name === name)
  if (!manifest) throw new Error(`deploy/k8s has no ${kind} "${name}"`)
  return manifest
}

/** `KEY=value` lines, as kustomize reads an env file (comments and blank lines skipped). */
const envFile = (path: string) =>
  new Map(
    readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const)
  )

/**
 * The generated Secrets, by name. Their env files are the operator's and git ignores them; each is
 * a filled-in copy of the committed `.example` beside it, whose keys are the Secret's.
 */
const generatedSecrets = new Map(
  ((kustomization.secretGenerator ?? []) as Entry[]).map((generator) => [
    generator.name as string,
    new Map((generator.envs as string[]).flatMap((file) => [...envFile(join(K8S, `${file}.example`))]))
  ])
)
const configMaps = new Map(
  manifests
    .filter((manifest) => manifest.kind === 'ConfigMap')
    .map((manifest) => [manifest.metadata.name, new Map(Object.entries((manifest.data ?? {}) as Record<string, string>))])
)

type Source = { from: 'value'; value: string } | { from: 'configMap' | 'secret'; name: string; key: string }

/** What each variable of a container comes from; `env` wins over `envFrom`, as in Kubernetes. */
const environmentOf = (container: Entry) => {
  const variables = new Map<string, Source>()
  for (const source of (container.envFrom ?? []) as Entry[]) {
    const prefix = (source.prefix as string | undefined) ?? ''
    if (source.configMapRef) {
      const name = source.configMapRef.name as string
      for (const key of configMaps.get(name)?.keys() ?? []) variables.set(prefix + key, { from: 'configMap', name, key })
    }
    if (source.secretRef) {
      const name = source.secretRef.name as string
      for (const key of generatedSecrets.get(name)?.keys() ?? []) variables.set(prefix + key, { from: 'secret', name, key })
    }
  }
  for (const variable of (container.env ?? []) as Entry[]) {
    const { configMapKeyRef, secretKeyRef } = variable.valueFrom ?? {}
    if (configMapKeyRef) variables.set(variable.name, { from: 'configMap', name: configMapKeyRef.name, key: configMapKeyRef.key })
    else if (secretKeyRef) variables.set(variable.name, { from: 'secret', name: secretKeyRef.name, key: secretKeyRef.key })
    else variables.set(variable.name, { from: 'value', value: String(variable.value ?? '') })
  }
  return variables
}

const valueOf = (source: Source | undefined) => {
  if (!source) return undefined
  if (source.from === 'value') return source.value
  return (source.from === 'configMap' ? configMaps : generatedSecrets).get(source.name)?.get(source.key)
}

const urlOf = (environment: Map<string, Source>, variable: string) => {
  const value = valueOf(environment.get(variable))
  if (value === undefined) throw new Error(`${variable} is not set`)
  return new URL(value)
}

const workloads = manifests.filter((manifest) => ['Deployment', 'StatefulSet', 'Job'].includes(manifest.kind))
const containersOf = (workload: Manifest) =>
  [...(workload.spec.template.spec.initContainers ?? []), ...workload.spec.template.spec.containers] as Entry[]

const deploymentOf = (name: ServiceName) => find('Deployment', name)
const containerOf = (name: ServiceName) => {
  const container = (deploymentOf(name).spec.template.spec.containers as Entry[]).find((candidate) => candidate.name === name)
  if (!container) throw new Error(`Deployment ${name} has no container "${name}"`)
  return container
}
const podLabels = (name: ServiceName) => deploymentOf(name).spec.template.metadata.labels as Record<string, string>
const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value)

/** A probe's or Service's port: a number, or the name of one of the container's ports. */
const containerPort = (container: Entry, port: number | string) =>
  typeof port === 'number' ? port : (container.ports as Entry[]).find((candidate) => candidate.name === port)?.containerPort

describe('deploy/k8s', () => {
  it('has only manifests that parse, each listed by the kustomization of its folder', () => {
    for (const path of yamlFiles(K8S)) {
      const documents = readDocuments(path)
      if (path.endsWith('kustomization.yaml')) continue
      for (const document of documents) {
        expect(document.apiVersion, relative(ROOT, path)).toEqual(expect.any(String))
        expect(document.kind, relative(ROOT, path)).toEqual(expect.any(String))
        expect(document.metadata?.name, relative(ROOT, path)).toEqual(expect.any(String))
      }
      const folderKustomization = parse(readFileSync(join(dirname(path), 'kustomization.yaml'), 'utf8')) as Entry
      expect(folderKustomization.resources, relative(ROOT, path)).toContain(relative(dirname(path), path))
    }
  })

  it("has only objects that are valid for their kind's schema (kubernetes-models)", () => {
    for (const path of yamlFiles(K8S).filter((file) => !file.endsWith('kustomization.yaml'))) {
      for (const document of readDocuments(path)) {
        const what = `${relative(ROOT, path)}: ${document.kind} ${document.metadata?.name}`
        if (CUSTOM_KINDS.includes(`${document.apiVersion}/${document.kind}`)) continue
        const Model = modelOf(document.apiVersion, document.kind)
        expect(Model, `${what}: no such kind in ${document.apiVersion}`).toBeDefined()
        expect(() => new Model!(document).validate(), what).not.toThrow()
      }
    }
  })

  it('has the alert rules of deploy/observability in its PrometheusRule, and scrapes every ops port as job "marketmesh", the series\' labels kept', () => {
    const monitoring = join(K8S, 'monitoring')
    const [rule] = readDocuments(join(monitoring, 'prometheus-rule.yaml'))
    const alerts = parse(readFileSync(join(ROOT, 'deploy', 'observability', 'prometheus', 'alerts.yml'), 'utf8')) as Entry
    expect(rule.spec.groups).toEqual(alerts.groups)
    const [monitor] = readDocuments(join(monitoring, 'service-monitor.yaml'))
    // The series' `service` label (the rules group by it), not the operator's target label of the same name (the metrics Service's name).
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'ops', path: METRICS_PATH, honorLabels: true })])
    const metricsServices = readDocuments(join(monitoring, 'metrics-services.yaml'))
    for (const name of SERVICES) {
      const service = metricsServices.find((candidate) => candidate.metadata.name === `${name}-metrics`)
      expect(service, name).toBeDefined()
      expect(service!.metadata.labels).toMatchObject({ ...monitor.spec.selector.matchLabels, [monitor.spec.jobLabel]: 'marketmesh' })
      expect(service!.spec.selector).toEqual(deploymentOf(name).spec.selector.matchLabels)
      expect(service!.spec.ports).toEqual([expect.objectContaining({ name: monitor.spec.endpoints[0].port, targetPort: 'ops' })])
    }
  })

  it("migrates every service's database before its new pods start: a Job in each service's image, the services not migrating at start", () => {
    const job = find('Job', 'marketmesh-migrate')
    const containers = job.spec.template.spec.containers as Entry[]
    for (const name of SERVICES) {
      const container = containers.find((candidate) => candidate.name === name)!
      expect(container.image, name).toBe(containerOf(name).image)
      expect(container.command.slice(-4)).toEqual(['migrate', 'up', '--service', name])
      const key = `MARKETMESH_${name.replace('-service', '').toUpperCase()}_DATABASE_URL`
      expect(container.env).toEqual([{ name: key, valueFrom: { secretKeyRef: { name: `${name}-secrets`, key: 'DATABASE_URL' } } }])
    }
    expect(find('ConfigMap', 'marketmesh-config').data.MIGRATE_AT_START).toBe('false')
  })

  it('keeps the secrets out of git: the env files the Secrets are generated from are ignored, their examples committed', () => {
    expect(generatedSecrets.size).toBeGreaterThan(0)
    for (const generator of kustomization.secretGenerator as Entry[]) {
      for (const file of generator.envs as string[]) {
        const path = relative(ROOT, join(K8S, file))
        expect(spawnSync('git', ['check-ignore', '--quiet', '--no-index', path], { cwd: ROOT }).status, `${path} must be ignored by git`).toBe(0)
        expect(existsSync(join(K8S, `${file}.example`)), `${path}.example`).toBe(true)
      }
    }
  })

  it('points every configMapKeyRef, secretKeyRef, configMapRef and secretRef at a ConfigMap or Secret that has it', () => {
    expect(workloads.length).toBeGreaterThan(0)
    for (const workload of workloads) {
      for (const container of containersOf(workload)) {
        const where = `${workload.kind} ${workload.metadata.name}, container ${container.name}`
        for (const source of (container.envFrom ?? []) as Entry[]) {
          if (source.configMapRef) expect(configMaps.has(source.configMapRef.name), `${where}: ConfigMap ${source.configMapRef.name}`).toBe(true)
          if (source.secretRef) expect(generatedSecrets.has(source.secretRef.name), `${where}: Secret ${source.secretRef.name}`).toBe(true)
        }
        for (const [variable, source] of environmentOf(container)) {
          if (source.from === 'value') continue
          expect(valueOf(source), `${where}: ${variable} from ${source.from} ${source.name}, key ${source.key}`).toBeDefined()
        }
      }
    }
  })

  it('keeps no password or key in a ConfigMap', () => {
    for (const [name, data] of configMaps) {
      expect(
        [...data.keys()].filter((key) => SECRET_VARIABLES.includes(key)),
        `ConfigMap ${name}`
      ).toEqual([])
    }
  })

  it("reaches RabbitMQ, each PostgreSQL and the catalog's Redis through ExternalName Services, RabbitMQ a cluster of three", () => {
    for (const name of SERVICES) {
      const environment = environmentOf(containerOf(name))
      for (const variable of ['DATABASE_URL', 'AMQP_URL', ...(name === 'catalog-service' ? ['REDIS_URL'] : [])]) {
        const host = urlOf(environment, variable).hostname
        const service = find('Service', host)
        expect(service.spec.type, `${name}: ${variable} host ${host}`).toBe('ExternalName')
        expect(service.spec.externalName).toMatch(/^[a-z0-9.-]+$/)
      }
    }
    const broker = urlOf(environmentOf(containerOf('user-service')), 'AMQP_URL').hostname
    const rabbitmqKustomization = parse(readFileSync(join(K8S, 'rabbitmq', 'kustomization.yaml'), 'utf8')) as Entry
    const cluster = (rabbitmqKustomization.resources as string[])
      .flatMap((file) => readDocuments(join(K8S, 'rabbitmq', file)))
      .find((document) => document.kind === 'RabbitmqCluster')
    expect(cluster?.spec.replicas).toBe(3)
    // The operator's client Service is named after the cluster, in the cluster's namespace.
    expect(find('Service', broker).spec.externalName).toBe(`${cluster!.metadata.name}.${rabbitmqKustomization.namespace}.svc.cluster.local`)
  })

  it('gives order-service a payment provider, which it needs to start in production: Stripe, its keys from the Secret, the test provider off', () => {
    const environment = environmentOf(containerOf('order-service'))
    for (const variable of ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'STRIPE_CONNECT_WEBHOOK_SECRET']) {
      expect(environment.get(variable), variable).toEqual({ from: 'secret', name: 'order-service-secrets', key: variable })
    }
    // The Secret's example says what each value looks like: a secret key, and webhook signing secrets.
    expect(valueOf(environment.get('STRIPE_SECRET_KEY'))).toMatch(/^sk_live_/)
    expect(valueOf(environment.get('STRIPE_WEBHOOK_SECRET'))).toMatch(/^whsec_/)
    expect(valueOf(environment.get('STRIPE_CONNECT_WEBHOOK_SECRET'))).toMatch(/^whsec_/)
    // Production leaves the test provider off (config/production.json); a staging cluster may turn it on (see the manifest's comment).
    expect(valueOf(environment.get('PAYMENT_TEST_PROVIDER')) ?? 'false').toBe('false')
    expect(readFileSync(join(K8S, 'order-service.yaml'), 'utf8')).toMatch(/PAYMENT_TEST_PROVIDER: "true"/)
  })

  describe.each(SERVICES)('%s', (name) => {
    const { port, database } = serviceConfig(name)

    it('has a Deployment of its image, and a Service, a HorizontalPodAutoscaler and a PodDisruptionBudget that reach its pods', () => {
      const deployment = deploymentOf(name)
      expect(containerOf(name).image).toMatch(new RegExp(`^marketmesh/${name}(:|$)`))
      expect(selects(deployment.spec.selector.matchLabels, podLabels(name)), 'the Deployment selects its pods').toBe(true)
      expect(selects(find('Service', name).spec.selector, podLabels(name)), 'the Service selects its pods').toBe(true)
      expect(find('HorizontalPodAutoscaler', name).spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name })
      expect(selects(find('PodDisruptionBudget', name).spec.selector.matchLabels, podLabels(name)), 'the PodDisruptionBudget selects its pods').toBe(
        true
      )
    })

    it('serves on the port of its config/default.json, probed for readiness on /ready and for liveness on /health', () => {
      const container = containerOf(name)
      expect((container.ports as Entry[]).map((entry) => entry.containerPort)).toContain(port)
      const servicePorts = find('Service', name).spec.ports as Entry[]
      expect(servicePorts.map((entry) => [entry.port, containerPort(container, entry.targetPort ?? entry.port)])).toEqual([[port, port]])
      const probe = (kind: string) => container[kind]?.httpGet as Entry | undefined
      expect(probe('readinessProbe')?.path).toBe('/ready')
      expect(probe('livenessProbe')?.path).toBe('/health')
      for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        if (container[kind]) expect(containerPort(container, probe(kind)?.port), `${kind} port`).toBe(port)
      }
      // PORT, if set, would move the service off the probed port.
      const portVariable = valueOf(environmentOf(container).get('PORT'))
      if (portVariable !== undefined) expect(Number(portVariable)).toBe(port)
    })

    it('is scraped by Prometheus on its ops port (/metrics), which its Service does not expose', () => {
      const container = containerOf(name)
      const opsVariable = valueOf(environmentOf(container).get('OPS_PORT'))
      const opsPort = opsVariable === undefined ? port + 1000 : Number(opsVariable)
      expect(containerPort(container, 'ops')).toBe(opsPort)
      expect(deploymentOf(name).spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(opsPort),
        'prometheus.io/path': METRICS_PATH
      })
      const servicePorts = find('Service', name).spec.ports as Entry[]
      expect(servicePorts.map((entry) => containerPort(container, entry.targetPort ?? entry.port))).not.toContain(opsPort)
    })

    it('sets only variables the service reads (its settings in src/configuration.ts, NODE_ENV, LOG_PRETTY)', () => {
      const known = environmentVariablesOf(name)
      const unknown = [...environmentOf(containerOf(name)).keys()].filter((variable) => !known.has(variable))
      expect(unknown, `${name} reads none of these`).toEqual([])
    })

    it('takes its URLs with passwords and its keys from its own Secret, never from a ConfigMap', () => {
      const environment = environmentOf(containerOf(name))
      for (const [variable, source] of environment) {
        if (SECRET_VARIABLES.includes(variable)) expect(source, variable).toMatchObject({ from: 'secret', name: `${name}-secrets` })
      }
      for (const variable of ['DATABASE_URL', 'AMQP_URL']) expect(environment.get(variable)?.from, variable).toBe('secret')
      const databaseUrl = urlOf(environment, 'DATABASE_URL')
      expect(databaseUrl.protocol).toMatch(/^postgres(ql)?:$/)
      expect(decodeURIComponent(databaseUrl.pathname.slice(1))).toBe(database)
      expect(urlOf(environment, 'AMQP_URL').protocol).toMatch(/^amqps?:$/)
    })

    it(
      name === 'user-service'
        ? 'signs with the private key of its Secret and reads no key set from a URL'
        : "holds no private key and verifies with the keys user-service's Service publishes",
      () => {
        const environment = environmentOf(containerOf(name))
        if (name === 'user-service') {
          expect(environment.get('JWT_PRIVATE_KEY')).toMatchObject({ from: 'secret' })
          expect(environment.has('JWT_JWKS_URL')).toBe(false)
        } else {
          expect(environment.has('JWT_PRIVATE_KEY')).toBe(false)
          const userPort = find('Service', 'user-service').spec.ports[0].port
          expect(valueOf(environment.get('JWT_JWKS_URL'))).toBe(`http://user-service:${userPort}/.well-known/jwks.json`)
        }
      }
    )

    it('asks for CPU and memory within limits, and gives SIGTERM time to drain after the preStop pause', () => {
      const container = containerOf(name)
      for (const resource of ['cpu', 'memory']) {
        expect(container.resources?.requests?.[resource], `requests.${resource}`).toBeDefined()
        expect(container.resources?.limits?.[resource], `limits.${resource}`).toBeDefined()
      }
      const shutdownTimeoutMs = Number(valueOf(environmentOf(container).get('SHUTDOWN_TIMEOUT_MS')) ?? baseDefaults.shutdownTimeoutMs)
      const preStop = (container.lifecycle?.preStop?.exec?.command ?? []) as string[]
      const pauseSeconds = preStop[0] === 'sleep' ? Number(preStop[1]) : 0
      const graceSeconds = deploymentOf(name).spec.template.spec.terminationGracePeriodSeconds ?? 30
      expect(graceSeconds * 1000).toBeGreaterThan(pauseSeconds * 1000 + shutdownTimeoutMs)
    })

    it('scales from two instances up, and lets a disruption take one at a time, never all', () => {
      const autoscaler = find('HorizontalPodAutoscaler', name).spec
      expect(autoscaler.minReplicas).toBeGreaterThanOrEqual(2)
      expect(autoscaler.maxReplicas).toBeGreaterThan(autoscaler.minReplicas)
      const budget = find('PodDisruptionBudget', name).spec
      if (budget.maxUnavailable !== undefined) expect(budget.maxUnavailable).toBe(1)
      else expect(budget.minAvailable).toBe(autoscaler.minReplicas - 1)
    })
  })
})
