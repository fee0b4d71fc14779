import { randomUUID } from 'node:crypto'
import amqplib from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exchangeNames, type EventEnvelope } from '@marketmesh/events'
import { AMQP, createTestBus, POSTGRES, uniqueName, waitFor } from '@marketmesh/test-support'
import { startUserService, type UserServiceUnderTest } from './helpers'

let service: UserServiceUnderTest
const consumerDatabases: string[] = []
beforeAll(async () => {
  service = await startUserService('users')
})
afterAll(() => service.stop(consumerDatabases))

const register = (body: Record<string, unknown>, token?: string) => service.http('POST', '/users', { body, token })
const valid = { password: 'long enough password', name: 'Someone', role: 'buyer' }
const usersWithEmail = (email: string) => service.app.get('postgresqlClient')('users').where({ email })

/** The fields a validation error names (ajv's instancePath or missing property). */
const fieldsOf = (body: { data?: Array<{ instancePath: string; params: { missingProperty?: string } }> }) =>
  (body.data ?? []).map(({ instancePath, params }) => instancePath.slice(1) || params.missingProperty)

describe('registration', () => {
  it('refuses a second account for the same email in any case with 409', async () => {
    expect((await register({ ...valid, email: 'dup@example.com' })).status).toBe(201)
    const duplicate = await register({ ...valid, email: '  DUP@Example.COM ' })
    expect(duplicate.status).toBe(409)
    expect(duplicate.body).toMatchObject({ name: 'Conflict', message: 'A user with this email already exists' })
    expect(await usersWithEmail('dup@example.com')).toHaveLength(1)
  })

  it('refuses an invalid email, a short password and a seller without shop with 400 naming the field', async () => {
    const badEmail = await register({ ...valid, email: 'not-an-email' })
    expect(badEmail.status).toBe(400)
    expect(fieldsOf(badEmail.body)).toEqual(['email'])
    expect(badEmail.body.message).toBe('Invalid email: must match format "email"')

    const shortPassword = await register({ ...valid, email: 'short@example.com', password: 'seven77' })
    expect(shortPassword.status).toBe(400)
    expect(fieldsOf(shortPassword.body)).toEqual(['password'])
    expect(shortPassword.body.message).toBe('Invalid password: must NOT have fewer than 8 characters')
    expect(await usersWithEmail('short@example.com')).toEqual([])

    const shopless = await register({ ...valid, email: 'shopless@example.com', role: 'seller' })
    expect(shopless.status).toBe(400)
    expect(fieldsOf(shopless.body)).toContain('shopName')
  })

  it('refuses to let anyone register as admin, but an admin may create one', async () => {
    const self = await register({ ...valid, email: 'wannabe@example.com', role: 'admin' })
    expect(self.status).toBe(403)
    const buyer = await service.signUp('buyer')
    expect((await register({ ...valid, email: 'wannabe@example.com', role: 'admin' }, buyer.accessToken)).status).toBe(403)
    expect(await usersWithEmail('wannabe@example.com')).toEqual([])

    const admin = await service.signUpAdmin()
    const created = await register({ ...valid, email: 'second-admin@example.com', role: 'admin' }, admin.accessToken)
    expect(created.status).toBe(201)
    expect(created.body.role).toBe('admin')
  })

  it('stores only an argon2id hash of OWASP parameters and never returns it', async () => {
    const created = await register({ ...valid, email: 'hash@example.com' })
    expect(created.body).not.toHaveProperty('password')
    const [row] = await usersWithEmail('hash@example.com')
    expect(row.password).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  })

  it('gives a second shop of the same name its own slug', async () => {
    const first = await register({ ...valid, email: 'shop1@example.com', role: 'seller', shopName: 'Twin Shop' })
    const second = await register({ ...valid, email: 'shop2@example.com', role: 'seller', shopName: 'Twin Shop' })
    expect(first.body.shopSlug).toBe('twin-shop')
    expect(second.body.shopSlug).toMatch(/^twin-shop-[a-z0-9]+$/)
  })
})

describe('who sees and changes whom', () => {
  it('shows a buyer and a seller only themselves and an admin everyone', async () => {
    const buyer = await service.signUp('buyer')
    const seller = await service.signUp('seller')
    const admin = await service.signUpAdmin()

    for (const { user, accessToken } of [buyer, seller]) {
      const list = await service.http('GET', '/users', { token: accessToken })
      expect(list.body).toMatchObject({ total: 1, data: [{ id: user.id }] })
      expect((await service.http('GET', `/users/${user.id}`, { token: accessToken })).status).toBe(200)
    }
    // Another user's record answers as an unknown id does: 404, the same message.
    const unknown = await service.http('GET', `/users/${randomUUID()}`, { token: buyer.accessToken })
    for (const [{ accessToken }, other] of [
      [buyer, seller],
      [seller, buyer]
    ] as const) {
      const response = await service.http('GET', `/users/${other.user.id}`, { token: accessToken })
      expect(response.status).toBe(404)
      expect(response.body.message).toBe(unknown.body.message.replace(/'.*'/, `'${other.user.id}'`))
    }

    const all = await service.http('GET', '/users?$limit=100', { token: admin.accessToken })
    const ids = all.body.data.map((user: { id: string }) => user.id)
    expect(ids).toEqual(expect.arrayContaining([buyer.user.id, seller.user.id, admin.user.id]))
    expect(all.body.data.every((user: object) => !('password' in user))).toBe(true)
    expect((await service.http('GET', `/users/${buyer.user.id}`, { token: admin.accessToken })).status).toBe(200)

    expect((await service.http('GET', '/users')).status).toBe(401)
    expect((await service.http('GET', `/users/${buyer.user.id}`)).status).toBe(401)
  })

  it('lets a user change their own profile, only an admin their role, and nobody else', async () => {
    const buyer = await service.signUp('buyer')
    const other = await service.signUp('buyer')
    const admin = await service.signUpAdmin()

    const renamed = await service.http('PATCH', `/users/${buyer.user.id}`, {
      token: buyer.accessToken,
      body: { name: 'New Name', email: 'Renamed@Example.com', currentPassword: buyer.password }
    })
    expect(renamed.body).toMatchObject({ name: 'New Name', email: 'renamed@example.com' })
    expect((await service.http('PATCH', `/users/${other.user.id}`, { token: buyer.accessToken, body: { name: 'Hijacked' } })).status).toBe(404)
    expect((await service.http('GET', `/users/${other.user.id}`, { token: other.accessToken })).body.name).toBe('A buyer')
    expect((await service.http('PATCH', `/users/${buyer.user.id}`, { token: buyer.accessToken, body: { role: 'admin' } })).status).toBe(403)
    const short = await service.http('PATCH', `/users/${buyer.user.id}`, {
      token: buyer.accessToken,
      body: { password: 'short', currentPassword: buyer.password }
    })
    expect(short.status).toBe(400)
    expect(fieldsOf(short.body)).toEqual(['password'])

    const promoted = await service.http('PATCH', `/users/${buyer.user.id}`, {
      token: admin.accessToken,
      body: { role: 'seller', shopName: 'Promoted Shop' }
    })
    expect(promoted.body).toMatchObject({ role: 'seller', shopSlug: 'promoted-shop' })
    const shopless = await service.http('PATCH', `/users/${other.user.id}`, { token: admin.accessToken, body: { role: 'seller' } })
    expect(shopless.status).toBe(400)
    expect(fieldsOf(shopless.body)).toEqual(['shopName'])
    expect(shopless.body.message).toBe('Invalid shopName: is required for a seller')
  })
})

describe('changing the email or password', () => {
  const patch = (id: string, token: string, body: Record<string, unknown>) => service.http('PATCH', `/users/${id}`, { token, body })
  const rowOf = (id: string) => service.app.get('postgresqlClient')('users').where({ id }).first('email', 'password', 'version')

  it('needs the current password: without it or with a wrong one 400 naming currentPassword, and nothing changes', async () => {
    const { user, accessToken, password } = await service.signUp('buyer')
    const before = await rowOf(user.id)
    for (const body of [
      { email: 'taken-over@example.com' },
      { password: 'the attacker’s password' },
      { email: 'taken-over@example.com', currentPassword: '' },
      { email: 'taken-over@example.com', currentPassword: 'not the password' },
      { password: 'the attacker’s password', currentPassword: 'not the password', name: 'Owned' }
    ]) {
      const refused = await patch(user.id, accessToken, body)
      expect(refused.status, JSON.stringify(body)).toBe(400)
      expect(fieldsOf(refused.body)).toEqual(['currentPassword'])
      expect(refused.body.message).toMatch(/^Invalid currentPassword: /)
    }
    expect(await rowOf(user.id)).toEqual(before)

    const changed = await patch(user.id, accessToken, { email: 'moved@example.com', password: 'a new long password', currentPassword: password })
    expect(changed.status).toBe(200)
    expect(changed.body).toMatchObject({ email: 'moved@example.com' })
    expect(changed.body).not.toHaveProperty('currentPassword')
    const login = await service.http('POST', '/authentication', {
      body: { strategy: 'local', email: 'moved@example.com', password: 'a new long password' }
    })
    expect(login.status).toBe(201)
    // Neither stored nor sent on: the user.updated event carries no trace of it.
    const [event] = await service.app
      .get('postgresqlClient')('outbox')
      .where({ type: 'user.updated' })
      .whereRaw(`envelope->'data'->>'userId' = ?`, [user.id])
    expect(JSON.stringify(event.envelope)).not.toContain(password)
  })

  it('needs no current password for the other fields, nor from an admin changing another user', async () => {
    const { user, accessToken, password } = await service.signUp('seller')
    expect((await patch(user.id, accessToken, { name: 'Renamed', shopDescription: 'Hand-made' })).status).toBe(200)
    const admin = await service.signUpAdmin()
    const reset = await patch(user.id, admin.accessToken, { email: 'reset-by-admin@example.com' })
    expect(reset).toMatchObject({ status: 200, body: { email: 'reset-by-admin@example.com' } })
    // An admin's own email is theirs like anyone's.
    expect((await patch(admin.user.id, admin.accessToken, { email: 'admin-moved@example.com' })).status).toBe(400)
    expect((await patch(user.id, accessToken, { password: 'another long password', currentPassword: password })).status).toBe(200)
  })

  it('counts a wrong current password as a failed login: after 5, 429 even with the right one', async () => {
    const { user, accessToken, password, email } = await service.signUp('buyer')
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect((await patch(user.id, accessToken, { email: 'elsewhere@example.com', currentPassword: `guess ${attempt}` })).status).toBe(400)
    }
    const refused = await patch(user.id, accessToken, { email: 'elsewhere@example.com', currentPassword: password })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })).status).toBe(429)
    expect((await rowOf(user.id)).email).toBe(email)
  })
})

describe('user events', () => {
  it('publishes user.registered and user.updated to a consumer, without the password hash', async () => {
    const database = `${POSTGRES}/${uniqueName('users_consumer')}`
    consumerDatabases.push(database)
    const { bus, db } = await createTestBus({ service: 'test-consumer', connection: database, prefix: service.settings.amqp.prefix })
    const received: EventEnvelope<'user.registered' | 'user.updated'>[] = []
    bus.on('user.registered', async (event) => void received.push(event))
    bus.on('user.updated', async (event) => void received.push(event))
    await bus.start()
    await bus.whenConsuming()
    // A plain queue bound to the pattern `user.#`, the way notify and catalog subscribe.
    const connection = await amqplib.connect(AMQP)
    const channel = await connection.createChannel()
    const { queue } = await channel.assertQueue('', { exclusive: true })
    await channel.bindQueue(queue, exchangeNames(service.settings.amqp.prefix).events, 'user.#')
    const bodies: string[] = []
    await channel.consume(queue, (message) => message && bodies.push(message.content.toString()), { noAck: true })
    try {
      const { user, accessToken } = await service.signUp('seller', { shopName: 'Evented Shop' })
      await service.http('PATCH', `/users/${user.id}`, { token: accessToken, body: { name: 'Renamed Seller' } })

      await waitFor(() => received.filter((event) => event.data.userId === user.id).length === 2, { what: 'the user events' })
      const [registered, updated] = received.filter((event) => event.data.userId === user.id)
      expect(registered).toMatchObject({
        type: 'user.registered',
        source: 'user-service',
        data: {
          userId: user.id,
          version: 1,
          email: user.email,
          name: 'A seller',
          role: 'seller',
          status: 'active',
          shopName: 'Evented Shop',
          shopSlug: 'evented-shop'
        }
      })
      expect(updated).toMatchObject({ type: 'user.updated', data: { userId: user.id, version: 2, name: 'Renamed Seller' } })
      for (const event of [registered, updated]) {
        expect(event.data).not.toHaveProperty('password')
        expect(JSON.stringify(event)).not.toMatch(/\$2[aby]\$|\$argon2|password/i)
      }
      // The email verification the registration asked for is on the user.# queue too.
      await waitFor(() => bodies.length >= 3, { what: 'the events on the user.# queue' })
      const envelopes = bodies.map((body) => JSON.parse(body))
      expect(envelopes.filter(({ type }) => type !== 'user.email_verification_requested').map(({ id }) => id)).toEqual([registered.id, updated.id])
      expect(bodies.join('')).not.toMatch(/\$2[aby]\$|\$argon2|password/i)
    } finally {
      await connection.close()
      await bus.stop()
      await db.destroy()
    }
  })
})

describe('user versions', () => {
  /** The versions in the user's events, in outbox order. */
  const eventVersionsOf = async (userId: string) =>
    (
      await service.app
        .get('postgresqlClient')('outbox')
        .whereIn('type', ['user.registered', 'user.updated'])
        .whereRaw(`envelope->'data'->>'userId' = ?`, [userId])
        .orderBy('id')
    ).map(({ type, envelope }) => [type, envelope.data.version])

  it('numbers a user’s events: 1 at registration, one more with each PATCH', async () => {
    const { user, accessToken } = await service.signUp('seller')
    expect(user.version).toBe(1)
    await service.http('PATCH', `/users/${user.id}`, { token: accessToken, body: { name: 'Second' } })
    const patched = await service.http('PATCH', `/users/${user.id}`, { token: accessToken, body: { shopName: 'Third' } })
    expect(patched.body.version).toBe(3)
    expect(await eventVersionsOf(user.id)).toEqual([
      ['user.registered', 1],
      ['user.updated', 2],
      ['user.updated', 3]
    ])
    expect((await service.http('GET', `/users/${user.id}`, { token: accessToken })).body.version).toBe(3)
  })

  it('gives concurrent PATCHes of one user distinct versions', async () => {
    const { user, accessToken } = await service.signUp('buyer')
    const patches = await Promise.all(
      ['One', 'Two', 'Three'].map((name) => service.http('PATCH', `/users/${user.id}`, { token: accessToken, body: { name } }))
    )
    expect(patches.map(({ body }) => body.version).sort()).toEqual([2, 3, 4])
    expect((await eventVersionsOf(user.id)).map(([, version]) => version).sort()).toEqual([1, 2, 3, 4])
  })

  it('does not let a client set the version', async () => {
    const { user, accessToken } = await service.signUp('buyer')
    const patched = await service.http('PATCH', `/users/${user.id}`, { token: accessToken, body: { version: 99 } })
    expect(patched.status).toBe(400)
    expect((await service.http('GET', `/users/${user.id}`, { token: accessToken })).body.version).toBe(1)
  })

  it('leaves the version alone on login (it emits no event)', async () => {
    const { user, email, password } = await service.signUp('buyer')
    await service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })
    expect(await service.app.get('postgresqlClient')('users').where({ id: user.id }).first('version')).toEqual({ version: 1 })
  })
})

describe('who is refused before a transaction opens', () => {
  let narrow: UserServiceUnderTest
  beforeAll(async () => {
    narrow = await startUserService('users_narrow', { postgresql: { pool: { max: 1 } } })
  })
  afterAll(() => narrow?.stop())

  /** The answer, or a failure if the call waits (for a database connection) longer than a few seconds. */
  const promptly = <T>(call: Promise<T>) =>
    Promise.race([call, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the call waited for a connection')), 5_000))])

  it('answers a write without a token with 401 while the only connection is taken', async () => {
    const held = await narrow.app.get('postgresqlClient').transaction()
    try {
      const id = randomUUID()
      for (const [method, path, body] of [
        ['PATCH', `/users/${id}`, { name: 'x' }],
        ['POST', '/devices', { name: 'x' }],
        ['DELETE', `/devices/${id}`, undefined]
      ] as const) {
        expect((await promptly(narrow.http(method, path, { body }))).status, `${method} ${path}`).toBe(401)
      }
    } finally {
      await held.rollback()
    }
  })
})
