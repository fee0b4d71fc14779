import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { claimsOf, startUserService, type UserServiceUnderTest } from './helpers'

let service: UserServiceUnderTest
beforeAll(async () => {
  service = await startUserService('auth')
})
afterAll(() => service.stop())

const refresh = (refreshToken: string) => service.http('POST', '/authentication', { body: { strategy: 'refresh', refreshToken } })
const refreshTokens = () => service.app.get('postgresqlClient')('refresh_tokens')

describe('register → login → refresh → logout', () => {
  it('works end to end with the typed client: tokens rotate, a reused refresh token revokes its session', async () => {
    const client = service.client()
    const user = await client.service('users').create({
      email: ' Flo@Example.COM',
      password: 'secret-password',
      name: 'Flo',
      role: 'seller',
      shopName: 'Flo’s Crème Goods'
    })
    expect(user).toMatchObject({ email: 'flo@example.com', role: 'seller', status: 'active', shopSlug: 'flo-s-creme-goods' })
    expect(user).not.toHaveProperty('password')

    const login = await client.authenticate({ strategy: 'local', email: 'FLO@example.com', password: 'secret-password' })
    expect(login.user).toMatchObject({ id: user.id, email: 'flo@example.com' })
    expect(login.user).not.toHaveProperty('password')
    const claims = claimsOf(login.accessToken)
    expect(claims).toMatchObject({ sub: user.id, role: 'seller', sellerId: user.id, iss: 'marketmesh', aud: 'https://marketmesh.dev' })
    expect(claims.exp - claims.iat).toBe(15 * 60)
    expect(JSON.parse(Buffer.from(login.accessToken.split('.')[0], 'base64url').toString())).toMatchObject({ typ: 'access', alg: 'HS256' })

    // Stored hashed, good for 7 days.
    const [stored] = await refreshTokens().where({ user_id: user.id })
    expect(stored.token_hash).toBe(createHash('sha256').update(login.refreshToken).digest('hex'))
    expect(JSON.stringify(stored)).not.toContain(login.refreshToken)
    expect(stored.expires_at.getTime() - Date.now()).toBeGreaterThan(7 * 86_400_000 - 60_000)

    const rotated = await client.authenticate({ strategy: 'refresh', refreshToken: login.refreshToken })
    expect(rotated.refreshToken).toMatch(/^mmrt_/)
    expect(rotated.refreshToken).not.toBe(login.refreshToken)
    expect(rotated.user).not.toHaveProperty('password')
    expect(claimsOf(rotated.accessToken)).toMatchObject({ sub: user.id, role: 'seller', sellerId: user.id, sid: claims.sid })
    expect(await client.service('users').get(user.id)).toMatchObject({ id: user.id })

    const reused = await refresh(login.refreshToken)
    expect(reused.status).toBe(401)
    expect(reused.body.message).toMatch(/already used/)
    // The whole session is gone: the token the reuse raced with no longer works either.
    expect((await refresh(rotated.refreshToken)).status).toBe(401)

    const again = await client.authenticate({ strategy: 'local', email: 'flo@example.com', password: 'secret-password' })
    expect(claimsOf(again.accessToken).sid).not.toBe(claims.sid)
    const loggedOut = await client.logout()
    expect(loggedOut?.user).toMatchObject({ id: user.id })
    expect(loggedOut?.user).not.toHaveProperty('password')
    expect((await refresh(again.refreshToken)).status).toBe(401)
    expect(await refreshTokens().where({ user_id: user.id }).whereNull('revoked_at')).toEqual([])
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
    await refreshTokens().where({ user_id: user.id }).update({ expires_at: new Date(Date.now() - 1000) })
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
