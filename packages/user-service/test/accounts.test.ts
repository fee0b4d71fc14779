import { createHash } from 'node:crypto'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSmtpServer } from '@marketmesh/test-support/smtp'
import { POSTGRES, ROOT, startServiceProcess, uniqueName, waitFor, type ServiceProcess } from '@marketmesh/test-support'
import { claimsOf, startUserService, type UserServiceUnderTest } from './helpers'

const APP_URL = 'https://app.example'

// user-service here, notify-service as a process on the same broker prefix, mailing to a real SMTP server.
let service: UserServiceUnderTest
let notify: ServiceProcess
let smtp: Awaited<ReturnType<typeof startSmtpServer>>
const notifyDatabase = `${POSTGRES}/${uniqueName('accounts_notify')}`
beforeAll(async () => {
  smtp = await startSmtpServer()
  service = await startUserService('accounts')
  notify = await startServiceProcess('notify-service', {
    DATABASE_URL: notifyDatabase,
    AMQP_PREFIX: service.settings.amqp.prefix,
    EVENT_RETRY_DELAYS_MS: '200,400',
    PORT: '0',
    SMTP_URL: smtp.url,
    APP_URL,
    // This process's node-config folder is user-service's by now.
    NODE_CONFIG_DIR: join(ROOT, 'packages', 'notify-service', 'config')
  })
})
afterAll(async () => {
  notify?.child.kill('SIGTERM')
  await notify?.exited
  await smtp?.close()
  await service?.stop([notifyDatabase])
})

const db = () => service.app.get('postgresqlClient')
const sha256 = (token: string) => createHash('sha256').update(token).digest('hex')

/** The token of the link in the mail to `to` whose subject starts with `subject` (the `nth` such mail). */
const mailedToken = async (to: string, subject: string, path: string, nth = 1) => {
  const mail = await waitFor(() => smtp.received.filter((received) => received.to === to && received.subject.startsWith(subject))[nth - 1], {
    what: `mail ${nth} "${subject}" to ${to}`
  })
  const link = new RegExp(`${APP_URL}/${path}#token=([A-Za-z0-9_-]+)`).exec(mail.text)
  expect(link, mail.text).not.toBeNull()
  // Handlebars escapes `=` in the HTML part, which the browser reads back.
  expect(mail.html.replaceAll('&#x3D;', '=')).toContain(`href="${APP_URL}/${path}#token=${link![1]}"`)
  return link![1]
}

const login = (email: string, password: string) => service.http('POST', '/authentication', { body: { strategy: 'local', email, password } })
const refresh = (refreshToken: string) => service.http('POST', '/authentication', { body: { strategy: 'refresh', refreshToken } })

describe('email verification', () => {
  it('mails the link in the welcome mail; its token verifies the email once, and a refreshed access token says so', async () => {
    const { user, email, accessToken, refreshToken } = await service.signUp('seller')
    expect(user.emailVerifiedAt).toBeNull()
    expect(claimsOf(accessToken).email_verified).toBe(false)
    const token = await mailedToken(email, 'Welcome to marketmesh', 'verify-email')
    expect(token).toMatch(/^mmev_/)
    // Only its hash is stored.
    const stored = await db()('account_tokens').where({ user_id: user.id })
    expect(stored.map((row) => row.token_hash)).toEqual([sha256(token)])
    expect(JSON.stringify(stored)).not.toContain(token)

    // As an app does it, with @marketmesh/client.
    const confirmed = { body: await service.client().emailVerifications.confirm({ token }) }
    expect(confirmed.body).toEqual({ userId: user.id, emailVerifiedAt: expect.any(String) })
    const again = await service.http('POST', '/email-verifications/confirm', { body: { token } })
    expect(again.status).toBe(400)
    expect(again.body.message).toMatch(/^Invalid token/)

    const refreshed = await refresh(refreshToken)
    expect(claimsOf(refreshed.body.accessToken).email_verified).toBe(true)
    expect(refreshed.body.user.emailVerifiedAt).toBe(confirmed.body.emailVerifiedAt)
    const resend = await service.http('POST', '/email-verifications', { token: accessToken, body: {} })
    expect(resend.status).toBe(409)
  })

  it('mails a new link on request, a few per hour, and one to the new address after a change of email, which ends the old links', async () => {
    const { user, email, password, accessToken } = await service.signUp('buyer')
    const welcomeToken = await mailedToken(email, 'Welcome to marketmesh', 'verify-email')
    expect((await service.http('POST', '/email-verifications', { body: {} })).status).toBe(401)
    const resend = await service.http('POST', '/email-verifications', { token: accessToken, body: {} })
    expect(resend.status).toBe(202)
    expect(resend.body).toEqual({ email })
    await mailedToken(email, 'Confirm your e-mail address', 'verify-email')

    const newEmail = `renamed-${email}`
    const patched = await service.http('PATCH', `/users/${user.id}`, { token: accessToken, body: { email: newEmail, currentPassword: password } })
    expect(patched.status).toBe(200)
    expect(patched.body.emailVerifiedAt).toBeNull()
    const newToken = await mailedToken(newEmail, 'Confirm your e-mail address', 'verify-email')
    // A link mailed to the old address does not verify the new one.
    expect((await service.http('POST', '/email-verifications/confirm', { body: { token: welcomeToken } })).status).toBe(400)
    expect((await service.http('POST', '/email-verifications/confirm', { body: { token: newToken } })).status).toBe(201)

    const other = await service.signUp('buyer')
    for (let request = 1; request <= 3; request++) {
      expect((await service.http('POST', '/email-verifications', { token: other.accessToken, body: {} })).status).toBe(202)
    }
    const refused = await service.http('POST', '/email-verifications', { token: other.accessToken, body: {} })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})

describe('password reset', () => {
  it('answers 202 to any email, mails an active account a link whose token sets a new password once and ends every session', async () => {
    const { user, email, password, refreshToken } = await service.signUp('buyer')
    const requested = await service.http('POST', '/password-resets', { body: { email: email.toUpperCase() } })
    expect(requested.status).toBe(202)
    const unknown = await service.http('POST', '/password-resets', { body: { email: 'nobody-here@example.com' } })
    expect(unknown.status).toBe(202)
    expect(Object.keys(unknown.body)).toEqual(Object.keys(requested.body))
    expect(await service.client().passwordResets.request({ email: 'nobody-either@example.com' })).toEqual({ email: 'nobody-either@example.com' })

    const token = await mailedToken(email, 'Reset your marketmesh password', 'reset-password')
    expect(token).toMatch(/^mmpr_/)
    const [stored] = await db()('account_tokens').where({ user_id: user.id, purpose: 'password-reset' })
    expect(stored.token_hash).toBe(sha256(token))
    expect(JSON.stringify(stored)).not.toContain(token)
    // Good for 30 minutes.
    expect(stored.expires_at.getTime() - stored.created_at.getTime()).toBeGreaterThan(30 * 60_000 - 5_000)
    expect(stored.expires_at.getTime() - stored.created_at.getTime()).toBeLessThanOrEqual(30 * 60_000 + 5_000)

    const short = await service.http('POST', '/password-resets/confirm', { body: { token, password: 'short' } })
    expect(short.status).toBe(400)
    expect(JSON.stringify(short.body)).toContain('password')
    expect(await service.client().passwordResets.confirm({ token, password: 'a brand new password' })).toEqual({ userId: user.id })

    expect((await refresh(refreshToken)).status).toBe(401)
    expect((await login(email, password)).status).toBe(401)
    const fresh = await login(email, 'a brand new password')
    expect(fresh.status).toBe(201)
    // The link came by mail: the email is verified too.
    expect(claimsOf(fresh.body.accessToken).email_verified).toBe(true)

    const reused = await service.http('POST', '/password-resets/confirm', { body: { token, password: 'yet another password' } })
    expect(reused.status).toBe(400)
    expect(reused.body.message).toMatch(/^Invalid token/)
    expect((await login(email, 'a brand new password')).status).toBe(201)
    expect(smtp.received.filter((mail) => mail.to === 'nobody-here@example.com')).toEqual([])
  })

  it('refuses a token after its 30 minutes', async () => {
    const { user, email } = await service.signUp('buyer')
    expect((await service.http('POST', '/password-resets', { body: { email } })).status).toBe(202)
    const token = await mailedToken(email, 'Reset your marketmesh password', 'reset-password')
    await db()('account_tokens')
      .where({ user_id: user.id, purpose: 'password-reset' })
      .update({ expires_at: new Date(Date.now() - 1_000) })
    const expired = await service.http('POST', '/password-resets/confirm', { body: { token, password: 'a brand new password' } })
    expect(expired.status).toBe(400)
    expect(expired.body.message).toMatch(/^Invalid token/)
  })

  it('answers 429 after 3 requests for an email, and after 20 from an address, whether the emails have accounts or not', async () => {
    const { email } = await service.signUp('buyer')
    for (let request = 1; request <= 3; request++) expect((await service.http('POST', '/password-resets', { body: { email } })).status).toBe(202)
    const refused = await service.http('POST', '/password-resets', { body: { email } })
    expect(refused.status).toBe(429)
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)

    for (let request = 1; request <= 20; request++) {
      expect((await service.postFrom('127.0.0.9', '/password-resets', { email: `someone${request}@example.com` })).status).toBe(202)
    }
    expect((await service.postFrom('127.0.0.9', '/password-resets', { email: 'someone21@example.com' })).status).toBe(429)
  })
})
