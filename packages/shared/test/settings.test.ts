import { Type } from '@feathersjs/typebox'
import { describe, expect, it } from 'vitest'
import {
  baseDefaults,
  baseEnvironment,
  baseSettingsSchema,
  deepMerge,
  serviceSettingsSchema,
  settingsFromEnvironment,
  validateSettings
} from '../src'

const complete = (overrides: Record<string, unknown> = {}) =>
  deepMerge(baseDefaults, { name: 'x', port: 3000, postgresql: { connection: 'postgres://h/db' } }, overrides)

describe('settings', () => {
  it('reads typed values from environment variables', () => {
    expect(
      settingsFromEnvironment(baseSettingsSchema, baseEnvironment, {
        PORT: '4000',
        TRUST_PROXY: 'true',
        EVENT_RETRY_DELAYS_MS: '100, 200',
        DATABASE_URL: 'postgres://db/x'
      })
    ).toEqual({ port: 4000, trustProxy: true, amqp: { retryDelaysMs: [100, 200] }, postgresql: { connection: 'postgres://db/x' } })
  })

  it('reads a comma-separated list of text as its items, trimmed', () => {
    const schema = serviceSettingsSchema({ keys: Type.Array(Type.String()) })
    expect(settingsFromEnvironment(schema, { KEYS: 'keys' }, { KEYS: ' first key, second key ' })).toEqual({ keys: ['first key', 'second key'] })
  })

  it("reads a service's own variables as their settings' schemas say: no format declared beside them", () => {
    const schema = serviceSettingsSchema({
      columns: Type.Union([Type.Literal(32), Type.Literal(42)]),
      level: Type.Union([Type.Literal('low'), Type.Literal('high')]),
      key: Type.Optional(Type.Object({ kid: Type.String() })),
      delaysMs: Type.Array(Type.Integer())
    })
    const environment = { COLUMNS: 'columns', LEVEL: 'level', KEY: 'key', DELAYS_MS: 'delaysMs' }
    expect(settingsFromEnvironment(schema, environment, { COLUMNS: '42', LEVEL: 'high', KEY: '{"kid":"k1"}', DELAYS_MS: '5,10' })).toEqual({
      columns: 42,
      level: 'high',
      key: { kid: 'k1' },
      delaysMs: [5, 10]
    })
  })

  it('names every invalid setting with its environment variable', () => {
    const env = settingsFromEnvironment(baseSettingsSchema, baseEnvironment, {
      TRUST_PROXY: 'perhaps',
      EVENT_RETRY_DELAYS_MS: '1,x',
      JWT_PUBLIC_KEYS: '{"keys": ['
    })
    expect(() => validateSettings(baseSettingsSchema, complete(env))).toThrow(
      /setting "trustProxy" \(env TRUST_PROXY\): must be boolean[\s\S]*setting "amqp.retryDelaysMs.1" \(env EVENT_RETRY_DELAYS_MS\): must be integer[\s\S]*setting "jwt.publicKeys" \(env JWT_PUBLIC_KEYS\): must be object/
    )
  })

  it("takes the consumers' queue type from AMQP_QUEUE_TYPE, quorum unless set, and refuses another type", () => {
    expect(validateSettings(baseSettingsSchema, complete()).amqp.queueType).toBe('quorum')
    const classic = settingsFromEnvironment(baseSettingsSchema, baseEnvironment, { AMQP_QUEUE_TYPE: 'classic' })
    expect(validateSettings(baseSettingsSchema, complete(classic)).amqp.queueType).toBe('classic')
    const stream = settingsFromEnvironment(baseSettingsSchema, baseEnvironment, { AMQP_QUEUE_TYPE: 'stream' })
    expect(() => validateSettings(baseSettingsSchema, complete(stream))).toThrow(/setting "amqp.queueType" \(env AMQP_QUEUE_TYPE\)/)
  })

  it('names a missing setting', () => {
    const { postgresql, ...withoutDatabase } = complete()
    expect(postgresql).toBeDefined()
    expect(() => validateSettings(baseSettingsSchema, withoutDatabase)).toThrow(/setting "postgresql": must have required property 'postgresql'/)
  })

  it('reads a JWK Set from JSON, and names what is wrong in one', () => {
    const key = { kty: 'OKP', crv: 'Ed25519', kid: 'k1', x: 'FLYOiutErGHgKr5c50yqQBEDoo5uDXDWCXmPSGrlmYE' }
    const env = settingsFromEnvironment(baseSettingsSchema, baseEnvironment, { JWT_PUBLIC_KEYS: JSON.stringify({ keys: [key] }) })
    expect(validateSettings(baseSettingsSchema, complete(env)).jwt.publicKeys).toEqual({ keys: [key] })
    const rsa = settingsFromEnvironment(baseSettingsSchema, baseEnvironment, { JWT_PUBLIC_KEYS: JSON.stringify({ keys: [{ ...key, kty: 'RSA' }] }) })
    expect(() => validateSettings(baseSettingsSchema, complete(rsa))).toThrow(
      /setting "jwt.publicKeys.keys.0.kty" \(env JWT_PUBLIC_KEYS\): must be equal to constant/
    )
  })
})
