import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEVELOPMENT_SIGNING_KEY } from '@marketmesh/shared'
import { purgeExpired } from '../src/housekeeping'
import { claimsOf, startUserService, type UserServiceUnderTest } from './helpers'

let service: UserServiceUnderTest
beforeAll(async () => {
  service = await startUserService('auth')
})
afterAll(() => service.stop())

const refresh = (refreshToken: string) => service.http('POST', '/authentication', { body: { strategy: 'refresh', refreshToken } })
const refreshTokens = () => service.app.get('postgresqlClient')('refresh_tokens')
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex')
/** As if the token had been used a minute ago: its reuse grace is over. */
const pastItsGrace = (token: string) =>
  refreshTokens()
    .where({ token_hash: hashOf(token) })
    .update({ used_at: new Date(Date.now() - 60_000) })

describe('register → login → refresh → logout', () => {
  it('works end to end with @marketmesh/client: tokens rotate, a refresh token reused after its grace revokes its session', async () => {
    const client = service.client()
    const user = await client.users.create({
      email: ' Flo@Example.COM',
      password: 'secret-password',
      name: 'Flo',
      role: 'seller',
      shopName: 'Flo’s Crème Goods'
    })
    expect(user).toMatchObject({ email: 'flo@example.com', role: 'seller', status: 'active', shopSlug: 'flo-s-creme-goods' })
    expect(user).not.toHaveProperty('password')

    const login = await client.login('FLO@example.com', 'secret-password')
    expect(login.user).toMatchObject({ id: user.id, email: 'flo@example.com' })
    expect(login.user).not.toHaveProperty('password')
    const claims = claimsOf(login.accessToken)
    expect(claims).toMatchObject({ sub: user.id, role: 'seller', sellerId: user.id, iss: 'marketmesh', aud: 'https://marketmesh.dev' })
    expect(claims.exp - claims.iat).toBe(15 * 60)
    expect(JSON.parse(Buffer.from(login.accessToken.split('.')[0], 'base64url').toString())).toMatchObject({
      typ: 'access',
      alg: 'EdDSA',
      kid: DEVELOPMENT_SIGNING_KEY.kid
    })

    // Stored hashed, good for 7 days.
    const [stored] = await refreshTokens().where({ user_id: user.id })
    expect(stored.token_hash).toBe(createHash('sha256').update(login.refreshToken).digest('hex'))
    expect(JSON.stringify(stored)).not.toContain(login.refreshToken)
    expect(stored.expires_at.getTime() - Date.now()).toBeGreaterThan(7 * 86_400_000 - 60_000)

    const { body: rotated } = await refresh(login.refreshToken)
    expect(rotated.refreshToken).toMatch(/^mmrt_/)
    expect(rotated.refreshToken).not.toBe(login.refreshToken)
    expect(rotated.user).not.toHaveProperty('password')
    expect(claimsOf(rotated.accessToken)).toMatchObject({ sub: user.id, role: 'seller', sellerId: user.id, sid: claims.sid })
    expect(await client.users.get(user.id)).toMatchObject({ id: user.id })

    // Within the grace the used token answers with the same successor; after it, it gives a copy away.
    const retried = await refresh(login.refreshToken)
    expect(retried.status).toBe(201)
    expect(retried.body.refreshToken).toBe(rotated.refreshToken)
    await pastItsGrace(login.refreshToken)
    const reused = await refresh(login.refreshToken)
    expect(reused.status).toBe(401)
    expect(reused.body.message).toMatch(/already used/)
    // The whole session is gone: the token the reuse raced with no longer works either.
    expect((await refresh(rotated.refreshToken)).status).toBe(401)

    const again = await client.login('flo@example.com', 'secret-password')
    expect(claimsOf(again.accessToken).sid).not.toBe(claims.sid)
    await client.logout()
    expect(client.tokens).toBeUndefined()
    expect((await refresh(again.refreshToken)).status).toBe(401)
    expect(await refreshTokens().where({ user_id: user.id }).whereNull('revoked_at')).toEqual([])
  })

  it('keeps the session when two clients refresh the same token at the same moment: both get the same successor', async () => {
    const { user, refreshToken } = await service.signUp('buyer')
    const [first, second] = await Promise.all([refresh(refreshToken), refresh(refreshToken)])
    expect([first.status, second.status]).toEqual([201, 201])
    expect(first.body.refreshToken).toMatch(/^mmrt_/)
    expect(second.body.refreshToken).toBe(first.body.refreshToken)
    expect(claimsOf(second.body.accessToken).sid).toBe(claimsOf(first.body.accessToken).sid)
    expect(second.body.user).toMatchObject({ id: user.id })
    expect(second.body.user).not.toHaveProperty('password')

    // One successor was issued, and the session goes on.
    expect(await refreshTokens().where({ user_id: user.id }).count({ n: '*' })).toEqual([{ n: 2 }])
    const next = await refresh(first.body.refreshToken)
    expect(next.status).toBe(201)
    expect(await refreshTokens().where({ user_id: user.id }).whereNotNull('revoked_at')).toEqual([])
  })

  it('revokes the session when a used token comes back within its grace but its successor was used too', async () => {
    const { refreshToken } = await service.signUp('buyer')
    const { body: second } = await refresh(refreshToken)
    const { body: third } = await refresh(second.refreshToken)
    const replayed = await refresh(refreshToken)
    expect(replayed.status).toBe(401)
    expect(replayed.body.message).toMatch(/already used/)
    expect((await refresh(third.refreshToken)).status).toBe(401)
  })

  it('purges refresh tokens that expired or were revoked, and keeps the spent ones that still give a copy away', async () => {
    const { user, email, password, refreshToken: first } = await service.signUp('buyer')
    const { body: rotated } = await refresh(first)
    const loggedOut = (await service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })).body
    await service.http('DELETE', '/authentication', { token: loggedOut.accessToken })
    const expired = (await service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })).body
    await refreshTokens()
      .where({ token_hash: hashOf(expired.refreshToken) })
      .update({ expires_at: new Date(Date.now() - 1_000) })
    const hashes = async () => (await refreshTokens().where({ user_id: user.id }).pluck('token_hash')).sort()

    const { refreshTokens: purged } = await purgeExpired(service.app)
    expect(purged).toBeGreaterThanOrEqual(2)
    // The spent first token and its live successor; the logged-out and the expired session are gone.
    expect(await hashes()).toEqual([hashOf(first), hashOf(rotated.refreshToken)].sort())
    await pastItsGrace(first)
    expect((await refresh(first)).status).toBe(401)
    expect((await refresh(rotated.refreshToken)).status).toBe(401)
  })

  it('refuses a wrong password or an unknown email with 401', async () => {
    const { email } = await service.signUp('buyer')
    for (const body of [
      { strategy: 'local', email, password: 'not the password' },
      { strategy: 'local', email: 'nobody@example.com', password: 'not the password' }
    ]) {
      const response = await service.http('POST', '/authentication', { body })
      expect(response.status).toBe(401)
      expect(response.body).toMatchObject({ name: 'NotAuthenticated', message: 'Invalid login' })
      expect(response.body).not.toHaveProperty('accessToken')
    }
  })

  it('refuses an expired refresh token', async () => {
    const { refreshToken, user } = await service.signUp('buyer')
    await refreshTokens()
      .where({ user_id: user.id })
      .update({ expires_at: new Date(Date.now() - 1000) })
    const response = await refresh(refreshToken)
    expect(response.status).toBe(401)
    expect(response.body.message).toMatch(/expired/)
  })

  it('stamps lastLoginAt on a password login, by the hook of the authentication service', async () => {
    const { user, email, password, accessToken, refreshToken } = await service.signUp('buyer')
    expect(user.lastLoginAt).toBeNull()
    const first = (await service.http('GET', `/users/${user.id}`, { token: accessToken })).body.lastLoginAt
    expect(Date.parse(first)).toBeGreaterThan(Date.parse(user.createdAt))

    // A refresh is no login.
    const refreshed = await refresh(refreshToken)
    expect(refreshed.body.user.lastLoginAt).toBe(first)

    const second = await service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })
    expect(Date.parse(second.body.user.lastLoginAt)).toBeGreaterThan(Date.parse(first))
    expect(second.body.user).not.toHaveProperty('password')
    expect((await service.http('GET', `/users/${user.id}`, { token: accessToken })).body.lastLoginAt).toBe(second.body.user.lastLoginAt)
  })

  it('ends every session when the password changes, and the new password works', async () => {
    const { user, email, password, accessToken, refreshToken } = await service.signUp('seller')
    const patched = await service.http('PATCH', `/users/${user.id}`, {
      token: accessToken,
      body: { password: 'a brand new password', currentPassword: password }
    })
    expect(patched.status).toBe(200)
    expect((await refresh(refreshToken)).status).toBe(401)
    const login = await service.http('POST', '/authentication', { body: { strategy: 'local', email, password: 'a brand new password' } })
    expect(login.status).toBe(201)
  })

  it('refuses login and refresh to a disabled account', async () => {
    const admin = await service.signUpAdmin()
    const { user, email, password, refreshToken } = await service.signUp('buyer')
    const disabled = await service.http('PATCH', `/users/${user.id}`, { token: admin.accessToken, body: { status: 'disabled' } })
    expect(disabled.body).toMatchObject({ status: 'disabled' })
    const login = await service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })
    expect(login.status).toBe(401)
    expect(login.body.message).toMatch(/disabled/)
    expect((await refresh(refreshToken)).status).toBe(401)
  })
})
