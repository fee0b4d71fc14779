import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { cleanUp, isolatedEnvironment, startServiceProcess } from '@marketmesh/test-support'

/** What a production start of catalog-service with `settings` ends in: its refusal, or that it started. */
const productionStart = async (label: string, settings: Record<string, string>) => {
  const directory = await mkdtemp(join(tmpdir(), 'mm-media-'))
  const env = {
    ...isolatedEnvironment(label),
    NODE_ENV: 'production',
    JWT_JWKS_URL: 'http://127.0.0.1:9/.well-known/jwks.json',
    MEDIA_DIRECTORY: directory,
    ...settings
  }
  try {
    return await startServiceProcess('catalog-service', env).then(
      (started) => {
        started.child.kill('SIGKILL')
        return 'it started'
      },
      (error: Error) => error.message
    )
  } finally {
    await cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] })
    await rm(directory, { recursive: true, force: true })
  }
}

const SIGNING_KEY = 'a-production-signing-key-of-this-shop-0123456789'

it('refuses a production start without clamd, naming MEDIA_CLAMAV_URL and MEDIA_SCAN=off: uploads are never taken unscanned by default', async () => {
  expect(await productionStart('catalog_production_scan', { MEDIA_SIGNING_KEY: SIGNING_KEY })).toMatch(/MEDIA_CLAMAV_URL.*MEDIA_SCAN=off/)
  expect(await productionStart('catalog_production_scan_off', { MEDIA_SIGNING_KEY: SIGNING_KEY, MEDIA_SCAN: 'off' })).toBe('it started')
})

it('refuses a production start of the local store with the development signing key, naming MEDIA_SIGNING_KEY', async () => {
  expect(await productionStart('catalog_production_signing', { MEDIA_SCAN: 'off' })).toContain(
    'setting "media.signingKey" (env MEDIA_SIGNING_KEY): the development key is refused in production'
  )
})
