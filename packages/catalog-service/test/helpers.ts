import { createMarketmeshClient } from '@marketmesh/client'
import { Redis } from 'ioredis'
import { EVENT_PUBLISHERS, type EventData, type EventEnvelope, type EventType } from '@marketmesh/events'
import { type Principal } from '@marketmesh/shared'
import { createApp } from '../src/app'
import { envelope as envelopeFrom, startServiceUnderTest } from '@marketmesh/test-support/service-under-test'
import { accessToken } from '@marketmesh/test-support/tokens'

export { admin, buyer, seller } from '@marketmesh/test-support/service-under-test'

/** The event types a catalog test watches for: all that catalog-service publishes. */
const WATCHED: EventType[] = [...EVENT_PUBLISHERS['catalog-service']]

/**
 * catalog-service in-process on its own database and broker prefix, with a test bus that plays
 * the other services: it emits their events and records what the catalog emits.
 */
export const startCatalog = async (label: string, settings: Record<string, unknown> = {}) => {
  const catalog = await startServiceUnderTest({ label, createApp, settings, watched: WATCHED })
  return {
    ...catalog,
    close: async () => {
      await catalog.close()
      await removeCacheKeys(catalog.settings.postgresql.connection)
    },
    /** The apps' client, as `principal` when given. */
    client: (principal?: Principal) => createMarketmeshClient({ baseUrl: catalog.url, token: principal && accessToken(principal) })
  }
}

/** Every key the read cache of a catalog on `database` wrote (its default prefix names the database, unique per test run). */
export const removeCacheKeys = async (database: string) => {
  const redis = new Redis(REDIS_URL)
  const prefix = `catalog-service:${new URL(database).pathname.slice(1)}:`
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1_000 })) if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

export type Catalog = Awaited<ReturnType<typeof startCatalog>>

/** An envelope as order-service's outbox would write it. */
export const envelope = <T extends EventType>(type: T, data: EventData<T>): EventEnvelope<T> => envelopeFrom(type, data, 'order-service')

export const productData = (overrides: Record<string, unknown> = {}) => ({
  title: 'Walnut desk lamp',
  description: 'A warm lamp for late reading',
  price: 4_999,
  currency: 'EUR',
  stock: 10,
  ...overrides
})
