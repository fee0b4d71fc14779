import { randomUUID } from 'node:crypto'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  authenticated,
  authenticatedOrDevice,
  createServiceApp,
  deviceAwareAuthentication,
  deviceCredentialHandlers,
  deviceCredentialMigrations,
  createDeviceToken,
  hashDeviceToken,
  listen,
  packageRoot,
  serviceSettingsSchema,
  type ServiceApplication
} from '@marketmesh/shared'
import { isolatedSettings, waitFor } from '@marketmesh/test-support'
import { WhoAmI } from '@marketmesh/test-support/verifier'
import { httpClient, startUserService, type UserServiceUnderTest } from './helpers'

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    'devices-too': WhoAmI
    'users-only': WhoAmI
  }
}

/**
 * A service that lets devices in, as notify-service does: the device credentials read model fed by
 * user-service's events, and two endpoints, one open to devices and one only to users.
 */
const createDeviceConsumer = (prefix: string) => {
  const settings = isolatedSettings('device_consumer')
  const app = createServiceApp({
    name: 'test-consumer',
    root: packageRoot(__dirname),
    settingsSchema: serviceSettingsSchema({}),
    overrides: { ...settings, amqp: { ...settings.amqp, prefix } },
    migrations: deviceCredentialMigrations,
    authentication: deviceAwareAuthentication,
    services: (app: ServiceApplication) => {
      app.use('devices-too', new WhoAmI(), { methods: ['find'] })
      app.service('devices-too').hooks({ around: { all: [authenticatedOrDevice()] } })
      app.use('users-only', new WhoAmI(), { methods: ['find'] })
      app.service('users-only').hooks({ around: { all: [authenticated()] } })
    },
    events: (app) => deviceCredentialHandlers(app.get('events'))
  })
  return { app, database: settings.postgresql.connection }
}

let service: UserServiceUnderTest
let consumer: ServiceApplication
let consumerServer: Server
let consumerDatabase: string
let atConsumer: ReturnType<typeof httpClient>

beforeAll(async () => {
  service = await startUserService('devices')
  const created = createDeviceConsumer(service.settings.amqp.prefix)
  consumer = created.app
  consumerDatabase = created.database
  consumerServer = await listen(consumer, 0)
  atConsumer = httpClient(`http://127.0.0.1:${(consumerServer.address() as AddressInfo).port}`)
  await consumer.get('events').whenConsuming()
})

afterAll(async () => {
  await consumer.teardown()
  consumerServer.close()
  await service.stop([consumerDatabase])
})

const registerDevice = (token: string, name: string) => service.http('POST', '/devices', { token, body: { name } })

describe('devices', () => {
  it('a seller registers a device and sees its token once; only its hash is stored', async () => {
    const seller = await service.signUp('seller')
    const created = await registerDevice(seller.accessToken, 'Packing station printer')
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ name: 'Packing station printer', sellerId: seller.user.id, revokedAt: null })
    expect(created.body.token).toMatch(/^mmdev_[A-Za-z0-9_-]{43}$/)
    expect(created.body).not.toHaveProperty('tokenHash')

    const [row] = await service.app.get('postgresqlClient')('devices').where({ id: created.body.id })
    expect(row.tokenHash).toBe(hashDeviceToken(created.body.token))
    expect(JSON.stringify(row)).not.toContain(created.body.token)

    const listed = await service.http('GET', '/devices', { token: seller.accessToken })
    expect(listed.body.data).toEqual([expect.objectContaining({ id: created.body.id, name: 'Packing station printer' })])
    expect(listed.body.data[0]).not.toHaveProperty('token')
    expect(listed.body.data[0]).not.toHaveProperty('tokenHash')
  })

  it('only sellers register devices, and a seller reaches only their own', async () => {
    const buyer = await service.signUp('buyer')
    const seller = await service.signUp('seller')
    const rival = await service.signUp('seller')
    expect((await registerDevice(buyer.accessToken, 'printer')).status).toBe(403)
    expect((await registerDevice('', 'printer')).status).toBe(401)
    expect((await service.http('POST', '/devices', { token: seller.accessToken, body: { name: '' } })).status).toBe(400)

    const { body: device } = await registerDevice(seller.accessToken, 'printer')
    expect((await service.http('GET', `/devices/${device.id}`, { token: rival.accessToken })).status).toBe(404)
    expect((await service.http('DELETE', `/devices/${device.id}`, { token: rival.accessToken })).status).toBe(404)
    expect((await service.http('GET', '/devices', { token: rival.accessToken })).body.total).toBe(0)
    expect((await service.http('GET', `/devices/${device.id}`, { token: seller.accessToken })).status).toBe(200)
    const admin = await service.signUpAdmin()
    const all = await service.http('GET', '/devices?$limit=100', { token: admin.accessToken })
    expect(all.body.data.map((each: { id: string }) => each.id)).toContain(device.id)
  })

  it("authenticates a device, at a service that opts in, as that seller's device until it is revoked, and nowhere else", async () => {
    const seller = await service.signUp('seller')
    const { body: printer } = await registerDevice(seller.accessToken, 'Front printer')
    const { body: spare } = await registerDevice(seller.accessToken, 'Spare printer')

    const whoIs = (token: string) => atConsumer('GET', '/devices-too', { token })
    const accepted = await waitFor(
      async () => {
        const response = await whoIs(printer.token)
        return response.status === 200 && response
      },
      { what: 'device.registered to reach the consumer' }
    )
    expect(accepted.body).toEqual({ id: printer.id, role: 'device', sellerId: seller.user.id })
    const [credential] = await consumer.get('postgresqlClient')('device_credentials').where({ id: printer.id })
    expect(credential.last_seen_at).not.toBeNull()

    // The same service takes user access tokens signed by user-service, through the shared verification.
    expect((await whoIs(seller.accessToken)).body).toEqual({ id: seller.user.id, role: 'seller', sellerId: seller.user.id, emailVerified: false })
    // A device is refused where only users may call, there and on every user-service endpoint.
    expect((await atConsumer('GET', '/users-only', { token: printer.token })).status).toBe(401)
    expect((await atConsumer('GET', '/users-only', { token: seller.accessToken })).status).toBe(200)
    for (const [method, path] of [
      ['GET', `/users/${seller.user.id}`],
      ['GET', '/users'],
      ['GET', '/devices'],
      ['POST', '/devices']
    ]) {
      const response = await service.http(method, path, { token: printer.token, body: method === 'POST' ? { name: 'x' } : undefined })
      expect(response.status, `${method} ${path}`).toBe(401)
    }

    const revoked = await service.http('DELETE', `/devices/${printer.id}`, { token: seller.accessToken })
    expect(revoked.status).toBe(200)
    expect(revoked.body.revokedAt).not.toBeNull()
    await waitFor(async () => (await whoIs(printer.token)).status === 401, { what: 'device.revoked to reach the consumer' })
    expect((await whoIs(spare.token)).body).toMatchObject({ id: spare.id, role: 'device' })

    expect((await service.http('GET', '/devices', { token: seller.accessToken })).body.data.map((device: { id: string }) => device.id)).toEqual([
      spare.id
    ])
    expect((await service.http('DELETE', `/devices/${printer.id}`, { token: seller.accessToken })).status).toBe(404)
  })

  it('keeps a device revoked when its revocation arrives before its registration', async () => {
    const seller = await service.signUp('seller')
    const deviceId = randomUUID()
    const token = createDeviceToken()
    const events = await service.app
      .get('postgresqlClient')
      .transaction(async (trx) => [
        await service.app.get('events').emit(trx, 'device.revoked', { deviceId, sellerId: seller.user.id }),
        await service.app
          .get('events')
          .emit(trx, 'device.registered', { deviceId, sellerId: seller.user.id, name: 'late', tokenHash: hashDeviceToken(token) })
      ])
    const processed = () =>
      consumer
        .get('postgresqlClient')('processed_events')
        .whereIn(
          'event_id',
          events.map((event) => event.id)
        )
    await waitFor(async () => (await processed()).length === 2, { what: 'both events to be handled' })
    expect((await atConsumer('GET', '/devices-too', { token })).status).toBe(401)
  })
})
