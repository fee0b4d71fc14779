import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { databaseOrCrashDetails } from '@marketmesh/test-support/leaks'
import { startUserService, type UserServiceUnderTest } from './helpers'

let service: UserServiceUnderTest
let admin: Awaited<ReturnType<UserServiceUnderTest['signUpAdmin']>>
let seller: Awaited<ReturnType<UserServiceUnderTest['signUp']>>
let deviceId: string

beforeAll(async () => {
  service = await startUserService('query_validation')
  admin = await service.signUpAdmin()
  seller = await service.signUp('seller')
  deviceId = (await service.http('POST', '/devices', { token: seller.accessToken, body: { name: 'Printer' } })).body.id
})
afterAll(() => service?.stop())

describe('queries of every method are validated', () => {
  it('refuses the password hash on get and find, as $select and as a filter (400)', async () => {
    for (const path of ['/users', `/users/${seller.user.id}`]) {
      for (const query of ['$select[]=password', '$select[]=email&$select[]=password', 'password=x', '$sort[password]=1']) {
        const answer = await service.http('GET', `${path}?${query}`, { token: admin.accessToken })
        expect(answer.status, `${path}?${query}`).toBe(400)
        expect(answer.body.message).toMatch(/^Invalid (\$select|\$sort|password)/)
        expect(databaseOrCrashDetails(JSON.stringify(answer.body))).toBeUndefined()
      }
    }
  })

  it("refuses a device's token and its hash on get and find (400)", async () => {
    for (const path of ['/devices', `/devices/${deviceId}`]) {
      for (const query of ['$select[]=tokenHash', '$select[]=token', 'tokenHash=x', 'revokedAt=x']) {
        const answer = await service.http('GET', `${path}?${query}`, { token: seller.accessToken })
        expect(answer.status, `${path}?${query}`).toBe(400)
        expect(databaseOrCrashDetails(JSON.stringify(answer.body))).toBeUndefined()
      }
    }
  })

  it('answers an unknown field with 400 naming it, for every method, the login too', async () => {
    for (const [method, path, body] of [
      ['GET', '/users', undefined],
      ['GET', `/users/${seller.user.id}`, undefined],
      ['PATCH', `/users/${seller.user.id}`, { name: 'Renamed' }],
      ['GET', '/devices', undefined],
      ['POST', '/authentication', { strategy: 'local', email: seller.email, password: seller.password }]
    ] as const) {
      const answer = await service.http(method, `${path}?nope=1`, { token: admin.accessToken, body })
      expect(answer, `${method} ${path}`).toMatchObject({ status: 400, body: { message: 'Invalid nope: is not a known field' } })
    }
  })

  it('selects public fields only', async () => {
    const answer = await service.http('GET', `/users/${seller.user.id}?$select[]=name&$select[]=shopSlug`, { token: admin.accessToken })
    expect(answer).toMatchObject({ status: 200, body: { name: seller.user.name, shopSlug: seller.user.shopSlug } })
    expect(Object.keys(answer.body).sort()).toEqual(['name', 'shopSlug'])
  })
})

describe('logging in and out', () => {
  it('takes strings only: an operator as email is a 400 naming it, not a search for any user', async () => {
    for (const email of [{ $gt: '' }, { $ne: null }, ['a@example.com'], 42]) {
      const answer = await service.http('POST', '/authentication', { body: { strategy: 'local', email, password: seller.password } })
      expect(answer, JSON.stringify(email)).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^Invalid email: /) } })
    }
    expect(
      await service.http('POST', '/authentication', { body: { strategy: 'local', email: `${seller.email}\u0000`, password: 'x' } })
    ).toMatchObject({
      status: 400,
      body: { message: 'Invalid email: must not contain NUL characters' }
    })
  })

  it('answers a logout without the access token with 401, with or without an id', async () => {
    for (const path of ['/authentication', '/authentication/whatever']) {
      expect(await service.http('DELETE', path), path).toMatchObject({ status: 401, body: { name: 'NotAuthenticated' } })
    }
  })
})
