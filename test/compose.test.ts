import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { environmentVariablesOf, serviceConfig, SERVICES } from './service-settings'

/**
 * docker-compose.yml and the Dockerfile cannot be run here (no Docker engine): this reads
 * them and checks they agree with the services' own config (ports, database names).
 */
const ROOT = join(__dirname, '..')

type Entry = Record<string, any>

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Entry> }
const service = (name: string): Entry => {
  const entry = compose?.services?.[name]
  if (!entry) throw new Error(`docker-compose.yml has no service "${name}"`)
  return entry
}

/** `environment` and `build.args` may be a map or a list of `KEY=value`. */
const asMap = (value: unknown): Record<string, string> => {
  if (Array.isArray(value)) {
    return Object.fromEntries(
      value.map((item: string) => {
        const at = String(item).indexOf('=')
        return at < 0 ? [item, ''] : [item.slice(0, at), item.slice(at + 1)]
      })
    )
  }
  return Object.fromEntries(Object.entries((value ?? {}) as Record<string, unknown>).map(([key, v]) => [key, String(v)]))
}

/** Published ports as { published, target }, from the short (`[ip:]published:target`) or long form. */
const publishedPorts = (ports: unknown) =>
  ((ports ?? []) as unknown[]).map((port) => {
    if (typeof port === 'object' && port !== null) {
      const { published, target } = port as { published?: unknown; target?: unknown }
      return { published: Number(published), target: Number(target) }
    }
    const text = String(port).replace(/\/(tcp|udp)$/, '')
    const parts = text.split(':')
    if (parts.length < 2) return { published: Number.NaN, target: Number(parts[0]) }
    return { published: Number(parts[parts.length - 2]), target: Number(parts[parts.length - 1]) }
  })

/** A healthcheck's command as one string; undefined when there is none or it is disabled. */
const healthcheckCommand = (entry: Entry): string | undefined => {
  const healthcheck = entry.healthcheck
  if (!healthcheck || healthcheck.disable === true) return undefined
  const test = healthcheck.test
  if (Array.isArray(test)) {
    if (test[0] === 'NONE' || !['CMD', 'CMD-SHELL'].includes(test[0])) return undefined
    return test.slice(1).join(' ')
  }
  return typeof test === 'string' && test.trim() !== '' ? test : undefined
}

const expectHealthyDependencies = (entry: Entry, name: string) => {
  const dependsOn = entry.depends_on
  expect(Array.isArray(dependsOn), `${name}: depends_on needs conditions, not a list`).toBe(false)
  for (const dependency of ['postgres', 'rabbitmq']) {
    expect(dependsOn?.[dependency]?.condition, `${name} depends_on ${dependency}`).toBe('service_healthy')
  }
}

/** Dockerfile instructions, grouped by stage (line continuations joined, comments dropped). */
const dockerfileStages = (text: string) => {
  const lines: string[] = []
  let pending = ''
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim()
    if (line.startsWith('#')) continue
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `
      continue
    }
    const joined = (pending + line).trim()
    pending = ''
    if (joined !== '') lines.push(joined)
  }
  if (pending.trim() !== '') lines.push(pending.trim())
  const stages: { image: string; name?: string; instructions: { op: string; args: string }[] }[] = []
  for (const line of lines) {
    const match = /^(\w+)\s*(.*)$/.exec(line)
    if (!match) continue
    const op = match[1].toUpperCase()
    const args = match[2].trim()
    if (op === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ image: from?.[1] ?? args, name: from?.[2], instructions: [] })
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push({ op, args })
    }
  }
  return stages
}

describe('docker-compose.yml', () => {
  it('runs PostgreSQL 15 with a pg_isready healthcheck and a named volume', () => {
    const postgres = service('postgres')
    expect(postgres.image).toMatch(/^postgres:15\.\d+$/)
    expect(healthcheckCommand(postgres)).toMatch(/\bpg_isready\b/)
    const volumes = (postgres.volumes ?? []).map(String)
    expect(volumes.some((volume: string) => /^[A-Za-z0-9][\w.-]*:\/var\/lib\/postgresql\/data\b/.test(volume))).toBe(true)
  })

  it('runs RabbitMQ 4 with management, a diagnostics healthcheck and a named volume', () => {
    const rabbitmq = service('rabbitmq')
    expect(rabbitmq.image).toMatch(/^rabbitmq:4\.\d+\.\d+-management$/)
    expect(healthcheckCommand(rabbitmq)).toMatch(/\brabbitmq-diagnostics\b.*\bping\b/)
    expect(
      publishedPorts(rabbitmq.ports)
        .map((port) => port.target)
        .sort()
    ).toEqual(expect.arrayContaining([5672, 15672]))
    const volumes = (rabbitmq.volumes ?? []).map(String)
    expect(volumes.some((volume: string) => /^[A-Za-z0-9][\w.-]*:\/var\/lib\/rabbitmq\b/.test(volume))).toBe(true)
  })

  it('pins every image to a version, never a moving tag', () => {
    for (const [name, entry] of Object.entries(compose.services)) {
      if (entry.image === undefined) continue
      // A version (`15.8`, `v1.21.0`, `4.0.4-management`) or a dated release (MinIO's `RELEASE.2024-10-13T13-34-11Z`).
      expect(entry.image, name).toMatch(/:(v?\d+\.\d+(\.\d+)?(-[a-z]+)?|RELEASE\.\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)$/)
    }
  })

  it("sends notify-service's mail to Mailpit, which it waits for, and shows Mailpit's inbox on loopback only", () => {
    const mailpit = service('mailpit')
    expect(mailpit.image).toMatch(/^axllent\/mailpit:/)
    expect(healthcheckCommand(mailpit)).toMatch(/mailpit readyz/)
    expect((mailpit.ports as string[]).every((port) => port.startsWith('127.0.0.1:'))).toBe(true)
    const notify = service('notify-service')
    expect(asMap(notify.environment).SMTP_URL).toBe('smtp://mailpit:1025')
    expect(notify.depends_on.mailpit).toEqual({ condition: 'service_healthy' })
  })

  it("runs Redis 7 (a pinned tag) for the catalog's read cache, saving nothing, with a ping healthcheck", () => {
    const redis = service('redis')
    expect(redis.image).toMatch(/^redis:7\.\d+(-alpine)?$/)
    expect(healthcheckCommand(redis)).toMatch(/\bredis-cli\b.*\bping\b/)
    expect(publishedPorts(redis.ports)).toContainEqual({ published: 6379, target: 6379 })
    const command = (redis.command as string[]).join(' ')
    expect(command).toMatch(/--save\s+(""|\s)/)
    expect(command).toContain('--maxmemory-policy allkeys-lru')
    const catalog = service('catalog-service')
    expect(new URL(asMap(catalog.environment).REDIS_URL).hostname).toBe('redis')
    expect(catalog.depends_on?.redis?.condition).toBe('service_healthy')
  })

  it("keeps the catalog's product images in MinIO: the bucket its job makes once MinIO is healthy, reached on host minio with MinIO's own credentials, and by uploads on its port published on loopback", () => {
    const minio = service('minio')
    expect(minio.image).toMatch(/^minio\/minio:RELEASE\./)
    expect(healthcheckCommand(minio)).toMatch(/\bmc ready local\b/)
    expect((minio.ports as string[]).every((port) => port.startsWith('127.0.0.1:'))).toBe(true)
    const root = asMap(minio.environment)
    const catalog = asMap(service('catalog-service').environment)
    const bucketJob = service('minio-bucket')
    expect(bucketJob.depends_on?.minio?.condition).toBe('service_healthy')
    expect((bucketJob.entrypoint as string[]).join(' ')).toContain(`mc mb --ignore-existing local/${catalog.MEDIA_S3_BUCKET}`)
    expect(asMap(bucketJob.environment).MINIO_ROOT_PASSWORD).toBe(root.MINIO_ROOT_PASSWORD)
    expect(new URL(catalog.MEDIA_S3_ENDPOINT).host).toBe('minio:9000')
    // A browser on the host cannot resolve minio: its upload URLs name the port MinIO publishes there.
    const publicEndpoint = new URL(catalog.MEDIA_S3_PUBLIC_ENDPOINT)
    expect(['127.0.0.1', 'localhost']).toContain(publicEndpoint.hostname)
    expect(publishedPorts(minio.ports)).toContainEqual({ published: Number(publicEndpoint.port), target: 9000 })
    expect(catalog).toMatchObject({
      MEDIA_S3_FORCE_PATH_STYLE: 'true',
      MEDIA_S3_ACCESS_KEY_ID: root.MINIO_ROOT_USER,
      MEDIA_S3_SECRET_ACCESS_KEY: root.MINIO_ROOT_PASSWORD
    })
    expect(service('catalog-service').depends_on?.['minio-bucket']?.condition).toBe('service_completed_successfully')
  })

  it('runs Jaeger (all-in-one, a pinned tag, OTLP on) and every service sends it its traces over OTLP/HTTP', () => {
    const jaeger = service('jaeger')
    expect(jaeger.image).toMatch(/^jaegertracing\/all-in-one:\d+\.\d+\.\d+$/)
    expect(asMap(jaeger.environment).COLLECTOR_OTLP_ENABLED).toBe('true')
    // The UI and OTLP/HTTP on loopback only.
    expect(publishedPorts(jaeger.ports).map(({ target }) => target)).toEqual(expect.arrayContaining([16686, 4318]))
    expect((jaeger.ports as string[]).every((port) => port.startsWith('127.0.0.1:'))).toBe(true)
    for (const name of SERVICES) {
      const endpoint = new URL(asMap(service(name).environment).OTEL_EXPORTER_OTLP_ENDPOINT)
      expect({ name, protocol: endpoint.protocol, host: endpoint.hostname, port: endpoint.port, path: endpoint.pathname }).toEqual({
        name,
        protocol: 'http:',
        host: 'jaeger',
        port: '4318',
        path: '/'
      })
      expect(service(name).depends_on?.jaeger?.condition, name).toBe('service_started')
    }
  })

  describe.each(SERVICES)('%s', (name) => {
    const { port, database } = serviceConfig(name)

    it('is built from the Dockerfile with its SERVICE build arg', () => {
      const build = service(name).build
      expect(typeof build, `${name}: build must have args`).toBe('object')
      const dockerfile = resolve(ROOT, build.context ?? '.', build.dockerfile ?? 'Dockerfile')
      expect(dockerfile).toBe(join(ROOT, 'Dockerfile'))
      expect(asMap(build.args).SERVICE).toBe(name)
    })

    it(`publishes the port of its config/default.json, and not its ops port (/metrics)`, () => {
      expect(publishedPorts(service(name).ports)).toContainEqual({ published: port, target: port })
      const env = asMap(service(name).environment)
      // PORT, if set, would override the config: it must not move the service off the published port.
      if ('PORT' in env) expect(Number(env.PORT)).toBe(port)
      const opsPort = 'OPS_PORT' in env ? Number(env.OPS_PORT) : port + 1000
      expect(publishedPorts(service(name).ports).map((published) => published.target)).not.toContain(opsPort)
    })

    it('has a healthcheck on its /ready', () => {
      const command = healthcheckCommand(service(name))
      expect(command, `${name}: healthcheck`).toBeDefined()
      expect(command).toMatch(new RegExp(`https?://(127\\.0\\.0\\.1|localhost):${port}/ready\\b`))
    })

    it('waits for healthy PostgreSQL and RabbitMQ, and restarts unless stopped', () => {
      expectHealthyDependencies(service(name), name)
      expect(service(name).restart).toBe('unless-stopped')
    })

    it('connects to its own database on host postgres and to the broker on host rabbitmq', () => {
      const env = asMap(service(name).environment)
      const databaseUrl = new URL(env.DATABASE_URL)
      expect(databaseUrl.protocol).toMatch(/^postgres(ql)?:$/)
      expect(databaseUrl.hostname).toBe('postgres')
      expect(decodeURIComponent(databaseUrl.pathname.slice(1))).toBe(database)
      const amqpUrl = new URL(env.AMQP_URL)
      expect(amqpUrl.protocol).toMatch(/^amqps?:$/)
      expect(amqpUrl.hostname).toBe('rabbitmq')
    })

    it('sets only variables the service reads (its settings in src/configuration.ts, NODE_ENV, LOG_PRETTY, OTEL_*)', () => {
      const known = environmentVariablesOf(name)
      const unknown = Object.keys(asMap(service(name).environment)).filter((variable) => !known.has(variable))
      expect(unknown, `${name} reads none of these`).toEqual([])
    })

    it(
      name === 'user-service'
        ? 'runs in production with its signing key required from the environment, not committed'
        : "runs in production with no private key, verifying with user-service's published keys",
      () => {
        const env = asMap(service(name).environment)
        expect(env.NODE_ENV).toBe('production')
        expect(env).not.toHaveProperty('JWT_SECRET')
        if (name === 'user-service') {
          expect(env.JWT_PRIVATE_KEY).toMatch(/^\$\{JWT_PRIVATE_KEY:\?[^}]*\}$/)
        } else {
          expect(env).not.toHaveProperty('JWT_PRIVATE_KEY')
          expect(env.JWT_JWKS_URL).toBe(`http://user-service:${serviceConfig('user-service').port}/.well-known/jwks.json`)
        }
        // The key notify-service encrypts the webhook secrets with: required, never committed.
        if (name === 'notify-service') expect(env.WEBHOOK_SECRET_KEYS).toMatch(/^\$\{WEBHOOK_SECRET_KEYS:\?[^}]*\}$/)
      }
    )
  })

  it('gives order-service a payment provider, which it needs to start in production: the test provider with a signing secret, or Stripe', () => {
    const env = asMap(service('order-service').environment)
    const stripe = Boolean(env.STRIPE_SECRET_KEY && env.STRIPE_WEBHOOK_SECRET)
    const testProvider = env.PAYMENT_TEST_PROVIDER === 'true' && (env.PAYMENT_TEST_WEBHOOK_SECRET ?? '').length >= 16
    expect(stripe || testProvider).toBe(true)
  })

  it('gives each service its own database', () => {
    const databases = SERVICES.map((name) => new URL(asMap(service(name).environment).DATABASE_URL).pathname)
    expect(new Set(databases).size).toBe(SERVICES.length)
  })
})

describe('Dockerfile', () => {
  const stages = dockerfileStages(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
  const runtime = stages[stages.length - 1]
  const build = stages.find((stage) => stage !== runtime && stage.instructions.some((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args)))
  const last = (op: string) => [...(runtime?.instructions ?? [])].reverse().find((i) => i.op === op)

  it('has a build stage that installs, compiles and prunes dev dependencies', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    expect(build, 'a stage before the last that runs npm ci').toBeDefined()
    expect(build!.image).toBe('node:24-bookworm-slim')
    const runs = build!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args)
    expect(runs.some((run) => /\btsc -b\b/.test(run))).toBe(true)
    expect(runs.some((run) => /\bnpm prune\b.*--omit=dev/.test(run))).toBe(true)
  })

  it('has a runtime stage that takes the build output and does not build', () => {
    expect(runtime.image).toBe('node:24-bookworm-slim')
    expect(build?.name, 'the build stage is named').toBeDefined()
    const copiesFromBuild = runtime.instructions.filter((i) => i.op === 'COPY' && i.args.includes(`--from=${build!.name}`))
    expect(copiesFromBuild.some((i) => /node_modules/.test(i.args))).toBe(true)
    const runs = runtime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args)
    expect(runs.some((run) => /\bnpm (ci|install)\b|\btsc\b/.test(run))).toBe(false)
    expect(runtime.instructions.some((i) => i.op === 'ENV' && /\bNODE_ENV[= ]+"?production"?\b/.test(i.args))).toBe(true)
  })

  it('chooses the service with ARG SERVICE and starts it from its package folder', () => {
    expect(runtime.instructions.some((i) => i.op === 'ARG' && /^SERVICE(=|$)/.test(i.args))).toBe(true)
    expect(last('WORKDIR')?.args).toMatch(/^\/app\/packages\/\$\{?SERVICE\}?$/)
    const cmd = last('CMD')?.args ?? ''
    const argv = cmd.startsWith('[') ? (JSON.parse(cmd) as string[]) : cmd.split(/\s+/)
    expect(argv).toEqual(['node', 'lib/src/index.js'])
  })

  it('runs as a non-root user', () => {
    const user = last('USER')?.args
    expect(user, 'USER in the runtime stage').toBeDefined()
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/)
  })
})

describe('.dockerignore', () => {
  it('keeps dependencies, build output and git out of the build context', () => {
    const path = join(ROOT, '.dockerignore')
    expect(existsSync(path)).toBe(true)
    const patterns = readFileSync(path, 'utf8')
      .split(/\r?\n/)
      .map((line) => line.trim())
    for (const pattern of ['**/node_modules', '**/lib', '**/*.tsbuildinfo', '.git']) expect(patterns).toContain(pattern)
  })
})
