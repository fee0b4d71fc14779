import { describe, expect, it } from 'vitest'
import { baseDefaults, baseEnvironment, baseSettingsSchema, deepMerge, settingsFromEnvironment, validateSettings } from '../src'

const complete = (overrides: Record<string, unknown> = {}) =>
  deepMerge(baseDefaults, { name: 'x', port: 3000, postgresql: { connection: 'postgres://h/db' } }, overrides)

describe('settings', () => {
  it('reads typed values from environment variables', () => {
    expect(
      settingsFromEnvironment(baseEnvironment, {
        PORT: '4000',
        TRUST_PROXY: 'true',
        EVENT_RETRY_DELAYS_MS: '100, 200',
        DATABASE_URL: 'postgres://db/x'
      })
    ).toEqual({ port: 4000, trustProxy: true, amqp: { retryDelaysMs: [100, 200] }, postgresql: { connection: 'postgres://db/x' } })
  })

  it('names every invalid setting with its environment variable', () => {
    const env = settingsFromEnvironment(baseEnvironment, { TRUST_PROXY: 'perhaps', EVENT_RETRY_DELAYS_MS: '1,x', JWT_SECRET: 'short' })
    expect(() => validateSettings(baseSettingsSchema, complete(env))).toThrow(
      /setting "trustProxy" \(env TRUST_PROXY\): must be boolean[\s\S]*setting "amqp.retryDelaysMs.1" \(env EVENT_RETRY_DELAYS_MS\): must be integer[\s\S]*setting "jwt.secret" \(env JWT_SECRET\): must NOT have fewer than 32 characters/
    )
  })

  it('names a missing setting', () => {
    const { postgresql, ...withoutDatabase } = complete()
    expect(postgresql).toBeDefined()
    expect(() => validateSettings(baseSettingsSchema, withoutDatabase)).toThrow(/setting "postgresql": must have required property 'postgresql'/)
  })

  it('refuses the development JWT secret in production', () => {
    const previous = process.env.NODE_ENV
    process.env.NODE_ENV = 'production'
    try {
      expect(() => validateSettings(baseSettingsSchema, complete())).toThrow(/development secret is refused in production/)
      expect(validateSettings(baseSettingsSchema, complete({ jwt: { secret: 'p'.repeat(40) } })).jwt.secret).toBe('p'.repeat(40))
    } finally {
      process.env.NODE_ENV = previous
    }
  })
})
