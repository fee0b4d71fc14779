import { createHash, randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { AuthenticationBaseStrategy, authenticate, type AuthenticationRequest } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import { statelessAuthentication } from './authentication'
import type { Knex, MigrationList } from './database'
import type { Principal, ServiceApplication } from './declarations'
import type { EventBus, EventHandler } from '@marketmesh/events'

/**
 * Device credentials: user-service issues a seller's appliance an opaque token and publishes only its
 * SHA-256 hash (`device.registered`). A service that lets devices in keeps those hashes in a local
 * `device_credentials` read model (these migrations and handlers) and registers `DeviceStrategy`;
 * services that do not never recognise a device token.
 */

export const DEVICE_STRATEGY = 'device'
export const DEVICE_TOKEN_PREFIX = 'mmdev_'

/** A new device token: shown to the seller once; only its hash is stored or sent anywhere. */
export const createDeviceToken = () => `${DEVICE_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`

export const hashDeviceToken = (token: string) => createHash('sha256').update(token).digest('hex')

export const isDeviceToken = (token: unknown): token is string => typeof token === 'string' && token.startsWith(DEVICE_TOKEN_PREFIX)

export const deviceCredentialMigrations: MigrationList = {
  '0000_device_credentials': {
    async up(knex) {
      await knex.schema.createTable('device_credentials', (table) => {
        table.uuid('id').primary()
        table.uuid('seller_id').notNullable()
        // Both null for a revocation that arrived before its registration.
        table.text('name')
        table.text('token_hash').unique()
        table.timestamp('registered_at', { useTz: true })
        table.timestamp('revoked_at', { useTz: true })
        table.timestamp('last_seen_at', { useTz: true })
      })
    },
    async down(knex) {
      await knex.schema.dropTable('device_credentials')
    }
  }
}

/**
 * Keeps `device_credentials` in step with user-service. A revocation wins whatever order the two
 * events arrive in. `onRevoked` is what a revocation means to the service beyond the read model
 * (ending the device's open streams), in the same transaction.
 */
export const deviceCredentialHandlers = (bus: EventBus, { onRevoked }: { onRevoked?: EventHandler<'device.revoked'> } = {}) =>
  bus
    .on('device.registered', async ({ data, occurredAt }, { trx }) => {
      await trx('device_credentials')
        .insert({ id: data.deviceId, seller_id: data.sellerId, name: data.name, token_hash: data.tokenHash, registered_at: occurredAt })
        .onConflict('id')
        .ignore()
    })
    .on('device.revoked', async (event, context) => {
      const { data, occurredAt } = event
      await context
        .trx('device_credentials')
        .insert({ id: data.deviceId, seller_id: data.sellerId, revoked_at: occurredAt })
        .onConflict('id')
        .merge({ revoked_at: occurredAt, token_hash: null })
      await onRevoked?.(event, context)
    })

// A device polls or streams all day: one last_seen_at write a minute is plenty.
const LAST_SEEN_RESOLUTION_MS = 60_000

/** What a service that lets devices in knows of their sellers beyond the credentials. */
export interface DeviceSellers {
  /** Whether the seller's account is disabled (from the service's own users read model): their devices are refused. */
  isDisabled(sellerId: string): Promise<boolean>
}

/**
 * `Authorization: Bearer mmdev_...` of a registered, unrevoked device becomes `params.principal` with role
 * `device`; with `sellers`, only while its seller's account is not disabled.
 */
export class DeviceStrategy extends AuthenticationBaseStrategy {
  private readonly lastSeenWrites = new Map<string, number>()

  constructor(
    private readonly db: Knex,
    private readonly sellers?: DeviceSellers
  ) {
    super()
  }

  async parse(req: IncomingMessage) {
    const [scheme, token] = (req.headers.authorization ?? '').split(/\s+/)
    return /^Bearer$/i.test(scheme) && isDeviceToken(token) ? { strategy: this.name, accessToken: token } : null
  }

  async authenticate(authentication: AuthenticationRequest) {
    const { accessToken } = authentication
    if (!isDeviceToken(accessToken)) throw new NotAuthenticated('No device token')
    const device = await this.db('device_credentials')
      .first('id', 'seller_id')
      .where({ token_hash: hashDeviceToken(accessToken) })
      .whereNull('revoked_at')
    if (!device) throw new NotAuthenticated('Unknown or revoked device token')
    if (await this.sellers?.isDisabled(device.seller_id)) throw new NotAuthenticated('The device’s seller account is disabled')
    await this.recordSeen(device.id)
    const principal: Principal = { id: device.id, role: 'device', sellerId: device.seller_id }
    return { authentication: { strategy: this.name }, principal }
  }

  private async recordSeen(id: string) {
    const now = Date.now()
    if (now - (this.lastSeenWrites.get(id) ?? 0) < LAST_SEEN_RESOLUTION_MS) return
    this.lastSeenWrites.set(id, now)
    await this.db('device_credentials')
      .where({ id })
      .update({ last_seen_at: new Date(now) })
  }
}

/**
 * The stateless JWT verification plus device tokens, for a service that devices call
 * (createServiceApp's `authentication` option; with `sellers`, wrapped: `(app) =>
 * deviceAwareAuthentication(app, sellers)`). Its endpoints still choose: `authenticated()` lets
 * only users in, `authenticatedOrDevice()` devices too.
 */
export const deviceAwareAuthentication = (app: ServiceApplication, sellers?: DeviceSellers) => {
  statelessAuthentication(app)
  app.service('authentication').register(DEVICE_STRATEGY, new DeviceStrategy(app.get('postgresqlClient'), sellers))
  // The device strategy looks first: it claims only `mmdev_` tokens and leaves every other bearer to JWT.
  app.set('authentication', { ...app.get('authentication')!, authStrategies: ['jwt', DEVICE_STRATEGY], parseStrategies: [DEVICE_STRATEGY, 'jwt'] })
}

/** Like `authenticated()`, and a registered device of a seller may call too (its principal has role `device`). */
export const authenticatedOrDevice = () => authenticate('jwt', DEVICE_STRATEGY)
