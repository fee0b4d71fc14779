import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Handlebars from 'handlebars'
import { formatMoney, printableLine } from '@marketmesh/shared'

export const MAIL_TEMPLATES = [
  'welcome',
  'verify-email',
  'password-reset',
  'order-confirmation',
  'new-order',
  'order-shipped',
  'webhook-endpoint-disabled',
  'payout-failed',
  'payout-reversed',
  'conversation-message'
] as const
export type MailTemplate = (typeof MAIL_TEMPLATES)[number]

export interface RenderedMail {
  subject: string
  html: string
  text: string
}

type Compiled = { [part in keyof RenderedMail]: Handlebars.TemplateDelegate }

/**
 * The mails, as Handlebars templates in `templates/<name>.{subject,text,html}.hbs`: the HTML part
 * escapes every value (a buyer named `<script>` stays text); subject and text are plain text
 * and are not HTML-escaped. The subject, a header, is one printable line whatever the values hold
 * (see `printableLine`): no line break can add a header, no bidi override turn it around.
 */
export const loadMailTemplates = (root: string) => {
  const handlebars = Handlebars.create()
  // Minor units and a currency code, as the events carry money: `money total currency`.
  handlebars.registerHelper('money', formatMoney)
  handlebars.registerHelper('times', (quantity: number, unitPrice: number) => quantity * unitPrice)
  const read = (name: MailTemplate, part: keyof RenderedMail) => readFileSync(join(root, 'templates', `${name}.${part}.hbs`), 'utf8')
  const compiled = new Map<MailTemplate, Compiled>(
    MAIL_TEMPLATES.map((name) => [
      name,
      {
        subject: handlebars.compile(read(name, 'subject'), { noEscape: true }),
        text: handlebars.compile(read(name, 'text'), { noEscape: true }),
        html: handlebars.compile(read(name, 'html'))
      }
    ])
  )
  return (name: MailTemplate, context: object): RenderedMail => {
    const template = compiled.get(name)!
    return { subject: printableLine(template.subject(context)).trim(), text: template.text(context), html: template.html(context) }
  }
}
