import type { EventHandler } from '@marketmesh/events'
import type { ServiceApplication } from '@marketmesh/shared'
import { MAIL_EFFECT, type MailPayload } from '../mail/mail'

/**
 * Mails the link of a password reset or an email verification (in the welcome mail at registration)
 * to the address it was asked for, once per event. The link opens the web app (`APP_URL`) with the
 * token in its fragment, which browsers never send to a server, so that no access log keeps it.
 * Nothing goes to the notification log: the token is for the mailbox only.
 */
export const mailAccountLink =
  (app: ServiceApplication): EventHandler<'user.password_reset_requested' | 'user.email_verification_requested'> =>
  async (event, { schedule }) => {
    const { data } = event
    const base = app.get('mail').appUrl.replace(/\/+$/, '')
    const to = { to: data.userId, address: data.email }
    if (!('welcome' in data)) {
      const link = `${base}/reset-password#token=${data.token}`
      const mail: MailPayload = { template: 'password-reset', ...to, context: { link, expiresAt: data.expiresAt } }
      await schedule(MAIL_EFFECT, `password-reset:${event.id}`, mail)
    } else {
      const link = `${base}/verify-email#token=${data.token}`
      const mail: MailPayload = { template: data.welcome ? 'welcome' : 'verify-email', ...to, context: { link, shopName: data.shopName } }
      await schedule(MAIL_EFFECT, data.welcome ? `welcome:${data.userId}` : `verify-email:${event.id}`, mail)
    }
  }
