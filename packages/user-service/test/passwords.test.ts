import bcrypt from 'bcryptjs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { PasswordStrategy } from '../src/authentication/local'
import { startUserService, type UserServiceUnderTest } from './helpers'

let service: UserServiceUnderTest
beforeAll(async () => {
  service = await startUserService('passwords')
})
afterAll(() => service.stop())

const login = (email: string, password: string) => service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })
const storedHash = async (email: string): Promise<string> =>
  (await service.app.get('postgresqlClient')('users').first('password').where({ email })).password

describe('password hashes', () => {
  it('check the whole password, never its first 72 bytes only', async () => {
    // 36 two-byte letters fill bcrypt's 72 bytes: what follows is what bcrypt would not read.
    const prefix = 'é'.repeat(36)
    const { email } = await service.signUp('buyer', { password: `${prefix}the rest` })
    expect((await login(email, `${prefix}not this`)).status).toBe(401)
    expect((await login(email, `${prefix}the rest`)).status).toBe(201)
  })

  it('replace a legacy bcrypt hash by an argon2id one at the next login, which keeps working', async () => {
    const { email, password } = await service.signUp('seller')
    await service.app
      .get('postgresqlClient')('users')
      .where({ email })
      .update({ password: await bcrypt.hash(password, 10) })
    expect((await login(email, 'wrong password')).status).toBe(401)
    expect(await storedHash(email)).toMatch(/^\$2[aby]\$/)

    expect((await login(email, password)).status).toBe(201)
    expect(await storedHash(email)).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect((await login(email, password)).status).toBe(201)
  })

  it('are checked as long for an email without an account: a check against a decoy hash', async () => {
    const local = service.app.service('authentication').getStrategy('local') as PasswordStrategy
    const checks = vi.spyOn(local.passwords, 'check')
    try {
      const { email } = await service.signUp('buyer')
      checks.mockClear()
      expect((await login(email, 'wrong password')).status).toBe(401)
      expect(checks).toHaveBeenCalledTimes(1)
      const response = await login('nobody-at-all@example.com', 'wrong password')
      expect(response.status).toBe(401)
      expect(response.body.message).toBe('Invalid login')
      expect(checks).toHaveBeenCalledTimes(2)
      expect(checks.mock.calls[1][0]).toMatch(/^\$argon2id\$/)
    } finally {
      checks.mockRestore()
    }
  })
})
