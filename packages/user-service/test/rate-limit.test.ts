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

const expectRetryAfter = (response: Awaited<ReturnType<typeof login>>, windowSeconds = 15 * 60) => {
  expect(response.status).toBe(429)
  expect(response.body).toMatchObject({ name: 'TooManyRequests' })
  const seconds = Number(response.headers.get('retry-after'))
  expect(seconds).toBeGreaterThan(0)
  expect(seconds).toBeLessThanOrEqual(windowSeconds)
}

const rateLimitRows = () => service.app.get('postgresqlClient')('rate_limits')

describe('failed login rate limit', () => {
  // First in the file: its ten guesses in flight at once stay under the IP's limit of 20.
  it('lets no more than 5 of 10 simultaneous wrong guesses for an email through to the password check', async () => {
    const { email } = await service.signUp('buyer')
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => login(email, 'wrong password')))).map((response) => response.status)
    expect(statuses.filter((status) => status === 401)).toHaveLength(5)
    expect(statuses.filter((status) => status === 429)).toHaveLength(5)
    expect(
      await rateLimitRows()
        .where({ key: `login-email:${email}` })
        .first('hits')
    ).toEqual({ hits: 5 })
  })

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

describe('failed logins from other addresses', () => {
  let spread: UserServiceUnderTest
  beforeAll(async () => {
    spread = await startUserService('ratelimit_spread', { loginRateLimit: { maxFailuresPerEmailAndIp: 5, maxFailuresPerEmail: 8 } })
  })
  afterAll(() => spread?.stop())

  const loginFrom = (from: string, email: string, password: string) =>
    spread.postFrom(from, '/authentication', { strategy: 'local', email, password })

  it('do not lock the owner out: a stranger is refused after 5 from their address, the owner logs in from theirs', async () => {
    const { email, password } = await spread.signUp('buyer')
    for (let attempt = 1; attempt <= 5; attempt++) expect((await loginFrom('127.0.0.2', email, 'wrong password')).status).toBe(401)
    expectRetryAfter(await loginFrom('127.0.0.2', email, password))
    expect((await loginFrom('127.0.0.1', email, password)).status).toBe(201)
  })

  it("count for the email across addresses up to a higher ceiling, then 429 from everywhere, the owner's too", async () => {
    const { email, password } = await spread.signUp('buyer')
    for (const from of ['127.0.0.3', '127.0.0.3', '127.0.0.3', '127.0.0.4', '127.0.0.4', '127.0.0.4', '127.0.0.5', '127.0.0.5']) {
      expect((await loginFrom(from, email, 'wrong password')).status).toBe(401)
    }
    expectRetryAfter(await loginFrom('127.0.0.6', email, 'wrong password'))
    expectRetryAfter(await loginFrom('127.0.0.1', email, password))
  })
})

describe('the window of a limit', () => {
  it('lets an email and an IP try again once their windows have ended, and purges the windows that have', async () => {
    // The tests above left this IP over its limit.
    const { email, password } = await service.signUp('buyer')
    expectRetryAfter(await login(email, password))
    await rateLimitRows().update({ expires_at: new Date(Date.now() - 1_000) })
    for (let attempt = 1; attempt <= 5; attempt++) expect((await login(email, 'wrong password')).status).toBe(401)
    expectRetryAfter(await login(email, password))
    // The email's own window and that of the email from this address.
    const keys = await rateLimitRows().whereLike('key', `login-email%:${email}%`).pluck('key')
    expect(keys).toHaveLength(2)
    await rateLimitRows()
      .whereIn('key', keys)
      .update({ expires_at: new Date(Date.now() - 1_000) })
    await rateLimitRows().insert({ key: 'login-email:someone-else@example.com', hits: 1, expires_at: new Date(Date.now() + 60_000) })
    const ended = await rateLimitRows().where('expires_at', '<=', new Date()).pluck('key')
    expect(ended).toEqual(expect.arrayContaining(keys))

    expect(await service.app.get('rateLimits').purge()).toBe(ended.length)
    expect(await rateLimitRows().whereIn('key', keys)).toEqual([])
    expect(await rateLimitRows().where({ key: 'login-email:someone-else@example.com' }).first('hits')).toEqual({ hits: 1 })
    expect((await login(email, password)).status).toBe(201)
  })
})

describe('registration rate limit', () => {
  let limited: UserServiceUnderTest
  beforeAll(async () => {
    limited = await startUserService('ratelimit_registration', { registrationRateLimit: { window: '1h', maxPerIp: 3 } })
  })
  afterAll(() => limited?.stop())

  const register = (email: string, token?: string) =>
    limited.http('POST', '/users', { token, body: { email, password: 'long enough password', name: 'Someone', role: 'buyer' } })

  it('answers 429 with Retry-After to a 4th registration from an IP within the window, whatever became of the first three', async () => {
    expect((await register('first@example.com')).status).toBe(201)
    expect((await register('first@example.com')).status).toBe(409)
    expect((await register('not-an-email')).status).toBe(400)
    const refused = await register('fourth@example.com')
    expectRetryAfter(refused, 60 * 60)
    expect(refused.body.message).toMatch(/^Too many registrations from this address; try again in \d+ seconds$/)
    expect(await limited.app.get('postgresqlClient')('users').where({ email: 'fourth@example.com' })).toEqual([])

    // An admin creating accounts is not a sign-up from that address.
    const admin = await limited.signUpAdmin()
    expect((await register('made-by-admin@example.com', admin.accessToken)).status).toBe(201)
  })
})

describe('behind a proxy (TRUST_PROXY, TRUST_PROXY_HOPS=1)', () => {
  let proxied: UserServiceUnderTest
  beforeAll(async () => {
    proxied = await startUserService('ratelimit_proxy', { trustProxy: true, trustProxyHops: 1, registrationRateLimit: { window: '1h', maxPerIp: 3 } })
  })
  afterAll(() => proxied?.stop())

  // The proxy appends the address it saw to whatever X-Forwarded-For the client sent.
  const registerVia = (email: string, clientWrote: string, proxySaw: string) =>
    fetch(`${proxied.url}/users`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': `${clientWrote}, ${proxySaw}` },
      body: JSON.stringify({ email, password: 'long enough password', name: 'Someone', role: 'buyer' })
    })

  it('counts the address the proxy saw: a client writing another leftmost address each time is still limited', async () => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect((await registerVia(`spoofer${attempt}@example.com`, `198.51.100.${attempt}`, '203.0.113.7')).status).toBe(201)
    }
    const refused = await registerVia('spoofer4@example.com', '198.51.100.4', '203.0.113.7')
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    // Another client behind the same proxy is counted apart: the header is read, not the proxy's own address.
    expect((await registerVia('neighbour@example.com', '198.51.100.4', '203.0.113.8')).status).toBe(201)
  })
})
