import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startUserService, type UserServiceUnderTest } from './helpers'

let service: UserServiceUnderTest
beforeAll(async () => {
  service = await startUserService('ratelimit')
})
afterAll(() => service.stop())

// Every request of this file comes from 127.0.0.1: the IP limit counts all of its failures.
let failuresFromThisIp = 0
let unknownEmails = 0

const login = async (email: string, password: string) => {
  const response = await service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })
  if (response.status === 401) failuresFromThisIp += 1
  return response
}

const expectRetryAfter = (response: Awaited<ReturnType<typeof login>>) => {
  expect(response.status).toBe(429)
  expect(response.body).toMatchObject({ name: 'TooManyRequests' })
  const seconds = Number(response.headers.get('retry-after'))
  expect(seconds).toBeGreaterThan(0)
  expect(seconds).toBeLessThanOrEqual(15 * 60)
}

describe('failed login rate limit', () => {
  it('answers 429 with Retry-After after 5 failures for an email, even to the right password, and not for other emails', async () => {
    const { email, password } = await service.signUp('buyer')
    for (let attempt = 1; attempt <= 5; attempt++) expect((await login(email, 'wrong password')).status).toBe(401)
    expectRetryAfter(await login(email.toUpperCase(), password))

    const other = await service.signUp('buyer')
    expect((await login(other.email, other.password)).status).toBe(201)
  })

  it("clears an email's failures on a successful login", async () => {
    const { email, password } = await service.signUp('seller')
    for (let attempt = 1; attempt <= 4; attempt++) expect((await login(email, 'wrong password')).status).toBe(401)
    expect((await login(email, password)).status).toBe(201)
    for (let attempt = 1; attempt <= 5; attempt++) expect((await login(email, 'wrong password')).status).toBe(401)
    expectRetryAfter(await login(email, password))
  })

  it('answers 429 to everyone from an IP with 20 failures, whatever the email', async () => {
    const { email, password } = await service.signUp('buyer')
    while (failuresFromThisIp < 20) expect((await login(`nobody${++unknownEmails}@example.com`, 'guess')).status).toBe(401)
    expectRetryAfter(await login(`nobody${++unknownEmails}@example.com`, 'guess'))
    expectRetryAfter(await login(email, password))
  })
})
