import { isAbsolute, join } from 'node:path'
import type { HookContext, NextFunction } from '@feathersjs/feathers'
import { batchedLookup } from '@marketmesh/events'
import { packageRoot, printableLine, type ServiceApplication } from '@marketmesh/shared'
import { loadMailTemplates, type MailTemplate } from './templates'
import { createMailTransport } from './transport'

export const MAIL_EFFECT = 'mail'

const RECIPIENTS = 'SELECT id, email, name FROM users WHERE id = ANY($1::uuid[])'

interface Recipient {
  id: string
  email: string
  name: string
}

/** What a handler schedules: which mail, to which user, with what the template shows. */
export interface MailPayload {
  template: MailTemplate
  to: string
  /** The address to send to instead of the user's current one: a link goes where it was asked for. */
  address?: string
  context: Record<string, unknown>
}

/**
 * Carries out the `mail` side effects after their handler's transaction committed: the recipient's
 * address and name from the users read model, one read for the mails a claim hands over at once
 * (an order may be paid before its buyer's `user.registered` arrived: then it is retried), the
 * templates, and the effect's stable id as Message-ID. A failing SMTP server fails the attempt,
 * retried with the side effects' backoff.
 */
export const mail = (app: ServiceApplication) => {
  const root = packageRoot(__dirname)
  const render = loadMailTemplates(root)
  const settings = app.get('mail')
  const directory = isAbsolute(settings.directory) ? settings.directory : join(root, settings.directory)
  const transport = createMailTransport({ smtpUrl: settings.smtpUrl, directory })
  const db = app.get('postgresqlClient')
  // A paid order's two mails, to its buyer and its seller, are mostly claimed together.
  const recipients = batchedLookup<Recipient>(db, RECIPIENTS, (user) => user.id)

  app.get('events').effects.perform<MailPayload>(MAIL_EFFECT, async ({ id, payload }) => {
    const user = await recipients.load(payload.to)
    if (!user) throw new Error(`No address yet for user ${payload.to}`)
    const address = payload.address ?? user.email
    const { subject, html, text } = render(payload.template, { ...payload.context, name: user.name, email: address })
    await transport.send({
      from: settings.from,
      // A header, like the subject: one printable line, whatever the read model holds.
      to: { name: printableLine(user.name), address },
      subject,
      html,
      text,
      messageId: `<${id}@notify.marketmesh>`
    })
  })
  app.hooks({
    teardown: [
      async (_context: HookContext, next: NextFunction) => {
        await next()
        transport.close()
      }
    ]
  })
}
