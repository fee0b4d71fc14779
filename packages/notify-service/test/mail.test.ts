import { readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { metricValue, waitFor } from '@marketmesh/test-support'
import { envelope } from '@marketmesh/test-support/service-under-test'
import { buyer, emailVerificationRequested, orderPaid, orderRef, seller, startNotify, userRegistered, type Notify } from './helpers'
import { startSmtpServer } from '@marketmesh/test-support/smtp'

const quickRetries = { sideEffects: { retryDelaysMs: Array(20).fill(300), pollIntervalMs: 100 } }
const settle = (ms = 1_000) => new Promise((resolve) => setTimeout(resolve, ms))

describe('e-mail', () => {
  let notify: Notify | undefined
  let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined
  afterEach(async () => {
    await notify?.close()
    await smtp?.close()
    notify = smtp = undefined
  })

  it('sends the welcome, the order confirmation, the new-order notice and the shipping notice once each, escaped in HTML', async () => {
    smtp = await startSmtpServer()
    notify = await startNotify('notify_mail', { mail: { smtpUrl: smtp.url }, ...quickRetries })
    const ada = buyer()
    const shop = seller()
    const adaUser = userRegistered(ada, { name: '<b>Ada</b> & Co' })
    const shopUser = userRegistered(shop)
    const paid = orderPaid(ada, shop)
    await notify.emit('user.registered', adaUser)
    await notify.emit('user.registered', shopUser)
    const adaVerification = emailVerificationRequested(adaUser)
    await notify.emit('user.email_verification_requested', adaVerification)
    await notify.emit('user.email_verification_requested', emailVerificationRequested(shopUser))
    const paidEvent = envelope('order.paid', paid)
    await notify.publishRaw(paidEvent)
    await notify.emit('order.shipped', { orderId: paid.orderId, buyerId: ada.id, sellerId: shop.sellerId!, version: 3 })
    await waitFor(() => smtp!.received.length >= 5, { what: '5 mails' })
    // A redelivery of the paid order mails nothing more.
    await notify.publishRaw(paidEvent)
    await settle()

    const mails = smtp.received
    expect(mails.map(({ to, subject }) => `${to} ${subject}`).sort()).toEqual(
      [
        `${adaUser.email} Welcome to marketmesh, <b>Ada</b> & Co`,
        `${shopUser.email} Welcome to marketmesh, ${shopUser.name}`,
        `${adaUser.email} Your order from Oak & Iron is confirmed`,
        `${shopUser.email} New order ${paid.orderId}: €250.00`,
        `${adaUser.email} Your order ${paid.orderId} is on its way`
      ].sort()
    )
    expect(new Set(mails.map(({ messageId }) => messageId)).size).toBe(5)
    // Pooled: the five mails did not each open a connection.
    expect(smtp.state.connections).toBeLessThan(5)
    for (const { messageId } of mails) expect(messageId).toMatch(/^<[0-9a-f-]{36}@notify\.marketmesh>$/)
    const welcome = mails.find(({ to, subject }) => to === adaUser.email && subject.startsWith('Welcome'))!
    expect(welcome.html).toContain('Hello &lt;b&gt;Ada&lt;/b&gt; &amp; Co,')
    expect(welcome.html).not.toContain('<b>Ada</b>')
    expect(welcome.text).toContain('Hello <b>Ada</b> & Co,')
    // The link to verify the address, with its token in the fragment, which no server gets to log.
    expect(welcome.text).toContain(`http://localhost:5173/verify-email#token=${adaVerification.token}`)
    const shopWelcome = mails.find(({ to, subject }) => to === shopUser.email && subject.startsWith('Welcome'))!
    expect(shopWelcome.text).toContain('and so is your shop Oak & Iron')
    const confirmation = mails.find(({ subject }) => subject.startsWith('Your order from'))!
    expect(confirmation.text).toContain('2 × Oak side table  €250.00')
    expect(confirmation.text).toContain('Main Street 1')
  })

  it('puts no line break, control or invisible character in a subject or the recipient’s name, whatever the names hold', async () => {
    smtp = await startSmtpServer()
    notify = await startNotify('notify_mail_headers', { mail: { smtpUrl: smtp.url }, ...quickRetries })
    const eve = buyer()
    const shop = seller()
    const eveUser = userRegistered(eve, { name: 'Eve\r\nBcc: victim@example.test\u202e\u001b[2J' })
    await notify.emit('user.registered', eveUser)
    await notify.emit('user.email_verification_requested', emailVerificationRequested(eveUser))
    await notify.emit('user.registered', userRegistered(shop, { shopName: 'Oak\u001bp022\u200b & Iron' }))
    await notify.emit('order.paid', orderPaid(eve, shop, { shopName: 'Oak\u001bp022\u200b & Iron' }))
    await waitFor(() => smtp!.received.filter(({ to }) => to === eveUser.email).length >= 2, { what: 'the welcome and the confirmation' })

    const subjects = smtp.received.filter(({ to }) => to === eveUser.email).map(({ subject }) => subject)
    expect(subjects.sort()).toEqual(['Welcome to marketmesh, Eve  Bcc: victim@example.test [2J', 'Your order from Oak p022 & Iron is confirmed'])
    const welcome = smtp.received.find(({ to, subject }) => to === eveUser.email && subject.startsWith('Welcome'))!
    expect(welcome.toName).toBe('Eve  Bcc: victim@example.test [2J')
    expect(smtp.received.map(({ to }) => to)).not.toContain('victim@example.test')
  })

  it('delays mail while the SMTP server is down or refusing, and loses none nor sends one twice', async () => {
    const probe = await startSmtpServer()
    const { port } = probe
    await probe.close()
    notify = await startNotify('notify_mail_down', { mail: { smtpUrl: `smtp://127.0.0.1:${port}` }, ...quickRetries })
    const users = [buyer(), buyer(), buyer()].map((user) => userRegistered(user))
    const register = async (user: (typeof users)[number]) => {
      await notify!.emit('user.registered', user)
      await notify!.emit('user.email_verification_requested', emailVerificationRequested(user))
    }
    for (const user of users.slice(0, 2)) await register(user)
    const attempts = () => notify!.db('side_effects').where({ kind: 'mail' }).sum({ attempts: 'attempts' }).first()
    await waitFor(async () => Number((await attempts())?.attempts) >= 4, { what: 'failed attempts while SMTP is down' })
    const done = await notify.db('side_effects').where({ kind: 'mail', status: 'done' }).count({ n: '*' }).first()
    expect(Number(done?.n)).toBe(0)

    smtp = await startSmtpServer(port)
    smtp.state.failing = true
    await register(users[2])
    await waitFor(() => smtp!.state.attempts >= 4, { what: 'mails refused with 451' })
    smtp.state.failing = false
    await waitFor(() => smtp!.received.length >= 3, { what: 'the 3 mails once SMTP is back' })
    await settle()
    expect(smtp.received.map(({ to }) => to).sort()).toEqual(users.map(({ email }) => email).sort())
  })

  it('mails once per event also when its batch was rolled back and handled again', async () => {
    smtp = await startSmtpServer()
    notify = await startNotify('notify_mail_batch', { mail: { smtpUrl: smtp.url }, ...quickRetries })
    // One event of the batch fails in its handler: the batch is handled again without it.
    await notify.db.raw(`
      CREATE FUNCTION explode() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data->>'reason' = 'explode' THEN RAISE EXCEPTION 'handler failure for the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER explode BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION explode();
    `)
    const users = Array.from({ length: 20 }, () => userRegistered(buyer()))
    const failing = envelope('order.rejected', { ...orderRef(buyer(), seller()), reason: 'explode' })
    await Promise.all([
      ...users.flatMap((user) => [
        notify!.publishRaw(envelope('user.registered', user)),
        notify!.publishRaw(envelope('user.email_verification_requested', emailVerificationRequested(user)))
      ]),
      notify.publishRaw(failing)
    ])
    await waitFor(() => smtp!.received.length >= 20, { what: '20 welcome mails' })
    await waitFor(async () => (await metricValue(notify!.app.get('metrics'), 'events_failed_total', { type: 'order.rejected' })) >= 1, {
      what: 'the failing event counted'
    })
    await settle()
    expect(smtp.received.map(({ to }) => to).sort()).toEqual(users.map(({ email }) => email).sort())
  })

  it('mails a password reset or verification link to the address it was asked for, once per event, and logs no notification of it', async () => {
    smtp = await startSmtpServer()
    notify = await startNotify('notify_mail_links', { mail: { smtpUrl: smtp.url, appUrl: 'https://shop.example/app/' }, ...quickRetries })
    const user = userRegistered(buyer())
    await notify.emit('user.registered', user)
    const reset = envelope('user.password_reset_requested', {
      userId: user.userId,
      email: 'new-address@example.com',
      token: 'mmpr_the-reset-token',
      expiresAt: new Date(Date.now() + 30 * 60_000).toISOString()
    })
    await notify.publishRaw(reset)
    await notify.emit('user.email_verification_requested', emailVerificationRequested(user, { welcome: false, token: 'mmev_the-token' }))
    await waitFor(() => smtp!.received.length >= 2, { what: 'the two mails' })
    // A redelivery mails nothing more.
    await notify.publishRaw(reset)
    await settle()

    expect(smtp.received.map(({ to, subject }) => `${to} ${subject}`).sort()).toEqual(
      [`new-address@example.com Reset your marketmesh password`, `${user.email} Confirm your e-mail address for marketmesh`].sort()
    )
    const [resetMail] = smtp.received.filter(({ subject }) => subject.startsWith('Reset'))
    expect(resetMail.text).toContain('https://shop.example/app/reset-password#token=mmpr_the-reset-token')
    expect(resetMail.text).toContain(`Hello ${user.name},`)
    const [verifyMail] = smtp.received.filter(({ subject }) => subject.startsWith('Confirm'))
    expect(verifyMail.text).toContain('https://shop.example/app/verify-email#token=mmev_the-token')
    const logged = await notify.db('notifications').select('type', 'data')
    expect(JSON.stringify(logged)).not.toMatch(/mmpr_|mmev_/)
  })

  it('writes mails to the file transport folder without SMTP', async () => {
    const directory = join(tmpdir(), `mmtest-mail-${Date.now()}`)
    notify = await startNotify('notify_mail_file', { mail: { smtpUrl: '', directory }, ...quickRetries })
    const user = userRegistered(buyer())
    await notify.emit('user.registered', user)
    await notify.emit('user.email_verification_requested', emailVerificationRequested(user))
    const files = await waitFor(async () => {
      const names = await readdir(directory).catch(() => [])
      return names.length > 0 && names
    })
    const raw = await readFile(join(directory, files[0]), 'utf8')
    expect(raw).toContain(`To: ${user.name} <${user.email}>`)
    expect(files[0]).toMatch(/@notify\.marketmesh\.eml$/)
    await rm(directory, { recursive: true, force: true })
  })
})
