import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Type, type Static, type TObject, type TProperties, type TSchema } from '@feathersjs/typebox'
import { eventBackboneSettingsProperties } from '@marketmesh/events'
import { jwksSchema } from './tokens/jwk'
import { dataValidator, fieldName } from './validators'

/** Settings every marketmesh service has; a service adds its own with `serviceSettingsSchema`. */
export const baseSettingsProperties = {
  name: Type.String({ minLength: 1 }),
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  /** Where `GET /metrics` is served, apart from the public port (see ops-server.ts); by default `port` + 1000. */
  opsPort: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level))),
  shutdownTimeoutMs: Type.Integer({ minimum: 100 }),
  /** Behind a load balancer: take the client address from X-Forwarded-For (rate limits need it). */
  trustProxy: Type.Boolean(),
  /**
   * How many proxies in front append to X-Forwarded-For: the client address is the entry this many
   * from the right, the one the outermost trusted proxy wrote. Entries left of it are the client's own.
   */
  trustProxyHops: Type.Integer({ minimum: 1 }),
  /**
   * Apply pending migrations at start (instances take turns). Off where a deployment runs
   * `marketmesh migrate up` first (the Kubernetes Job): a start then refuses while any is pending.
   */
  migrateAtStart: Type.Boolean(),
  postgresql: Type.Object({
    client: Type.Literal('pg'),
    connection: Type.String({ pattern: '^postgres(ql)?://' }),
    pool: Type.Object({ min: Type.Integer({ minimum: 0 }), max: Type.Integer({ minimum: 1 }) }),
    /** Statements with parameters are prepared once per connection (on unless said otherwise); off behind a pooler that cannot keep them. */
    preparedStatements: Type.Optional(Type.Boolean())
  }),
  ...eventBackboneSettingsProperties,
  jwt: Type.Object({
    issuer: Type.String({ minLength: 1 }),
    audience: Type.String({ minLength: 1 }),
    /** How long access tokens live; a token made to live longer is refused, so every service must have the same. */
    accessTokenExpiresIn: Type.String({ pattern: '^[0-9]+[smhd]$' }),
    /** How long a verified token is taken again without its signature checked (never past its `exp`); 0: never. */
    verifiedTokenMemoryMs: Type.Integer({ minimum: 0, maximum: 60_000 }),
    /** The public keys that verify access tokens, every one still valid during a rotation. */
    publicKeys: Type.Optional(jwksSchema),
    /** Instead of `publicKeys`: user-service's /.well-known/jwks.json, fetched and cached. */
    jwksUrl: Type.Optional(Type.String({ pattern: '^https?://' }))
  })
}

/** A duration setting: `30s`, `15m`, `24h`, `14d`, or `0`. */
export const durationSetting = Type.String({ pattern: '^(0|[0-9]+[smhd])$' })

export { durationMs } from './durations'

export const baseSettingsSchema = Type.Object(baseSettingsProperties, { additionalProperties: true })
export type BaseSettings = Static<typeof baseSettingsSchema>

/** The base settings plus a service's own. */
export const serviceSettingsSchema = <T extends TProperties>(own: T) =>
  Type.Object({ ...baseSettingsProperties, ...own }, { additionalProperties: true })

export const baseDefaults: Omit<BaseSettings, 'name' | 'port' | 'postgresql'> & {
  postgresql: Omit<BaseSettings['postgresql'], 'connection'>
} = {
  host: '0.0.0.0',
  logLevel: 'info',
  shutdownTimeoutMs: 10_000,
  trustProxy: false,
  trustProxyHops: 1,
  migrateAtStart: true,
  postgresql: { client: 'pg', pool: { min: 0, max: 10 }, preparedStatements: true },
  amqp: {
    url: 'amqp://guest:guest@127.0.0.1:5672',
    prefix: 'marketmesh',
    queueType: 'quorum',
    prefetch: 200,
    concurrency: 4,
    batchSize: 50,
    retryDelaysMs: [1_000, 10_000, 60_000],
    publishTimeoutMs: 10_000,
    dedupeRetentionHours: 30 * 24,
    crashLimit: 5
  },
  sideEffects: { retryDelaysMs: [1_000, 10_000, 60_000, 300_000, 1_800_000], leaseMs: 300_000, pollIntervalMs: 1_000, concurrency: 8 },
  outbox: { batchSize: 500, pollIntervalMs: 1_000, retentionHours: 72 },
  jwt: {
    issuer: 'marketmesh',
    audience: 'https://marketmesh.dev',
    accessTokenExpiresIn: '15m',
    verifiedTokenMemoryMs: 60_000
  }
}

/**
 * Environment variable -> the setting it sets. How its text is read (a number, a boolean, a list,
 * JSON) follows from the setting's schema, so each setting is declared once. A service extends it
 * with its own variables.
 */
export type SettingsEnvironment = Record<string, string>

export const baseEnvironment: SettingsEnvironment = {
  HOST: 'host',
  PORT: 'port',
  OPS_PORT: 'opsPort',
  LOG_LEVEL: 'logLevel',
  SHUTDOWN_TIMEOUT_MS: 'shutdownTimeoutMs',
  TRUST_PROXY: 'trustProxy',
  TRUST_PROXY_HOPS: 'trustProxyHops',
  MIGRATE_AT_START: 'migrateAtStart',
  DATABASE_URL: 'postgresql.connection',
  DATABASE_POOL_MAX: 'postgresql.pool.max',
  DATABASE_PREPARED_STATEMENTS: 'postgresql.preparedStatements',
  AMQP_URL: 'amqp.url',
  AMQP_PREFIX: 'amqp.prefix',
  AMQP_QUEUE_TYPE: 'amqp.queueType',
  AMQP_PREFETCH: 'amqp.prefetch',
  AMQP_CONCURRENCY: 'amqp.concurrency',
  AMQP_PUBLISH_TIMEOUT_MS: 'amqp.publishTimeoutMs',
  EVENT_RETRY_DELAYS_MS: 'amqp.retryDelaysMs',
  EVENT_DEDUPE_RETENTION_HOURS: 'amqp.dedupeRetentionHours',
  EVENT_CRASH_LIMIT: 'amqp.crashLimit',
  SIDE_EFFECT_RETRY_DELAYS_MS: 'sideEffects.retryDelaysMs',
  SIDE_EFFECT_LEASE_MS: 'sideEffects.leaseMs',
  OUTBOX_RETENTION_HOURS: 'outbox.retentionHours',
  JWT_PUBLIC_KEYS: 'jwt.publicKeys',
  JWT_JWKS_URL: 'jwt.jwksUrl',
  JWT_ISSUER: 'jwt.issuer',
  JWT_AUDIENCE: 'jwt.audience',
  JWT_EXPIRES_IN: 'jwt.accessTokenExpiresIn',
  JWT_VERIFIED_TOKEN_MEMORY_MS: 'jwt.verifiedTokenMemoryMs'
}

/** A setting is missing or invalid: the message names the setting and its environment variable. */
export class SettingsError extends Error {
  override name = 'SettingsError'
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

export const deepMerge = <T>(target: T, ...sources: unknown[]): T => {
  const result: Record<string, unknown> = { ...(target as Record<string, unknown>) }
  for (const source of sources) {
    if (!isPlainObject(source)) continue
    for (const [key, value] of Object.entries(source)) {
      result[key] = isPlainObject(value) && isPlainObject(result[key]) ? deepMerge(result[key], value) : value
    }
  }
  return result as T
}

const setPath = (target: Record<string, unknown>, path: string, value: unknown) => {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    node[key] = isPlainObject(node[key]) ? { ...(node[key] as object) } : {}
    node = node[key] as Record<string, unknown>
  }
  node[keys[keys.length - 1]] = value
}

/** The schema of the setting at `path` (`a.b.c`), or undefined where the schema has none. */
const schemaAt = (schema: TSchema, path: string): TSchema | undefined =>
  path.split('.').reduce<TSchema | undefined>((node, key) => node?.properties?.[key], schema)

/** A list of JSON-schema types a schema allows (a union of literals: theirs). */
const typesOf = (schema: TSchema | undefined): string[] => {
  if (!schema) return []
  if (schema.anyOf) return (schema.anyOf as TSchema[]).flatMap(typesOf)
  if (schema.const !== undefined) return [typeof schema.const === 'number' ? 'number' : typeof schema.const]
  return [schema.type].flat().filter(Boolean)
}

/**
 * An environment variable's text as its setting's schema reads it: numbers, booleans (true/false,
 * 1/0), comma-separated lists, JSON for objects; text stays text. What cannot be read is left as
 * text, for the schema to name the setting ("must be integer").
 */
const parseEnvValue = (raw: string, schema: TSchema | undefined): unknown => {
  const number = (text: string) => (text.trim() === '' ? Number.NaN : Number(text))
  const types = typesOf(schema)
  if (types.includes('object')) {
    try {
      return JSON.parse(raw)
    } catch {
      return raw
    }
  }
  if (types.includes('array')) {
    if (raw.trim() === '') return []
    const items = raw.split(',')
    return typesOf(schema?.items as TSchema | undefined).includes('string') ? items.map((item) => item.trim()) : items.map(number)
  }
  if (types.includes('boolean')) return { true: true, '1': true, false: false, '0': false }[raw.trim().toLowerCase()] ?? raw
  if (types.length > 0 && types.every((type) => type === 'integer' || type === 'number')) return number(raw)
  return raw
}

export const settingsFromEnvironment = (schema: TObject, environment: SettingsEnvironment, env: NodeJS.ProcessEnv = process.env) => {
  const settings: Record<string, unknown> = {}
  for (const [name, path] of Object.entries(environment)) {
    const raw = env[name]
    if (raw !== undefined) setPath(settings, path, parseEnvValue(raw, schemaAt(schema, path)))
  }
  return settings
}

/** Validates settings, throwing one SettingsError that names every bad setting. */
export const validateSettings = <T extends TObject>(
  schema: T,
  settings: unknown,
  environment: SettingsEnvironment = baseEnvironment
): BaseSettings => {
  const envNameOf = (path: string) => Object.entries(environment).find(([, setting]) => path === setting || path.startsWith(`${setting}.`))?.[0]
  const validate = dataValidator.compile(schema)
  validate(settings)
  const problems = (validate.errors ?? []).map((error) => {
    const path = fieldName(error.instancePath, error.params.missingProperty)
    const envName = envNameOf(path)
    return `setting "${path}"${envName ? ` (env ${envName})` : ''}: ${error.message}`
  })
  if (problems.length > 0) {
    throw new SettingsError(`Invalid configuration:\n  ${[...new Set(problems)].join('\n  ')}`)
  }
  return settings as BaseSettings
}

/** The folder holding a service's package.json, from anywhere inside it (src/ or lib/src/). */
export const packageRoot = (from: string) => {
  let dir = from
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`No package.json above ${from}`)
    dir = parent
  }
  return dir
}

export interface LoadSettingsOptions<T extends TObject> {
  schema: T
  /** The service's folder: its `config/` holds default.json and per-NODE_ENV files. */
  root: string
  environment?: SettingsEnvironment
  /** Applied last; tests use it for unique database names and queue prefixes. */
  overrides?: Record<string, unknown>
}

/**
 * Settings come, lowest first, from: the shared defaults, the service's config files
 * (read by @feathersjs/configuration), environment variables, explicit overrides.
 */
export const loadSettings = <T extends TObject>(options: LoadSettingsOptions<T>): BaseSettings => {
  const environment = options.environment ?? baseEnvironment
  // node-config reads its folder once per process, on first require: one service per process.
  process.env.NODE_CONFIG_DIR ??= join(options.root, 'config')
  process.env.SUPPRESS_NO_CONFIG_WARNING ??= 'true'
  const configuration = require('@feathersjs/configuration') as typeof import('@feathersjs/configuration')
  const fromFiles = configuration()()
  const merged = deepMerge(
    baseDefaults,
    JSON.parse(JSON.stringify(fromFiles)),
    settingsFromEnvironment(options.schema, environment),
    options.overrides ?? {}
  )
  return validateSettings(options.schema, merged, environment)
}
