import { randomUUID } from 'node:crypto'
import authenticationClient, { MemoryStorage } from '@feathersjs/authentication-client'
import { feathers } from '@feathersjs/feathers'
import rest from '@feathersjs/rest-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshEnvironment, MESH_SERVICES, startMesh, type Mesh, type MeshService } from '@marketmesh/test-support/mesh'

const PASSWORD = 'correct horse battery staple'

/**
 * An app set up the way the Feathers docs show, without @marketmesh/client: one Feathers app per
 * service, each with `@feathersjs/rest-client` and `@feathersjs/authentication-client`, the access
 * token from user-service's login shared through their storage.
 */
describe('a plain Feathers client, one app per service', () => {
  let mesh: Mesh
  const run = randomUUID().slice(0, 8)
  const email = `sam-${run}@example.com`

  const plainApp = (service: MeshService, storage: MemoryStorage) => {
    const app = feathers()
    app.configure(rest(mesh.urls[service]).fetch(fetch))
    app.configure(authenticationClient({ storage }))
    return app
  }

  beforeAll(async () => {
    mesh = await startMesh(meshEnvironment('plain_client'))
    const signup = plainApp('user', new MemoryStorage())
    await signup.service('users').create({ email, password: PASSWORD, name: 'Sam Seller', role: 'seller', shopName: 'Plain Goods' })
  }, 240_000)

  afterAll(async () => {
    await mesh?.stop()
  }, 120_000)

  it('logs in on user-service, re-authenticates on every service with that token, and calls each with it', async () => {
    const storage = new MemoryStorage()
    const apps = Object.fromEntries(MESH_SERVICES.map((service) => [service, plainApp(service, storage)])) as Record<
      MeshService,
      ReturnType<typeof plainApp>
    >
    const { accessToken, user } = await apps.user.authenticate({ strategy: 'local', email, password: PASSWORD })

    for (const service of MESH_SERVICES) {
      const identity = await apps[service].reAuthenticate()
      expect(identity.accessToken).toBe(accessToken)
    }
    // The standard client now sends the token on every call: authenticated calls answer on each service.
    const product = await apps.catalog.service('products').create({ title: 'Plain mug', price: 1_200, currency: 'EUR', stock: 3 })
    expect(product).toMatchObject({ title: 'Plain mug', sellerId: user.sellerId ?? user.id })
    expect(await apps.order.service('orders').find()).toMatchObject({ total: 0 })
    expect(await apps.notify.service('notifications').find()).toMatchObject({ data: expect.any(Array) })
    expect(await apps.user.service('users').get(user.id)).toMatchObject({ email })

    for (const service of MESH_SERVICES) await apps[service].logout()
    await expect(apps.order.service('orders').find()).rejects.toMatchObject({ code: 401 })
  })
})
