import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import type Mail from 'nodemailer/lib/mailer'

export type MailMessage = Mail.Options & { messageId: string }

export interface MailTransport {
  send(message: MailMessage): Promise<void>
  close(): void
}

/**
 * Over SMTP (`SMTP_URL`, e.g. `smtp://user:pass@mail.example.com:587`), on pooled connections:
 * without the pool every mail opens (and, with TLS, negotiates) a connection of its own.
 */
const smtpTransport = (url: string): MailTransport => {
  const transport = nodemailer.createTransport({ url, pool: true })
  return {
    send: async (message) => void (await transport.sendMail(message)),
    close: () => transport.close()
  }
}

/**
 * Without SMTP (development): each mail as an `.eml` file in `directory`, named by its
 * Message-ID, so a retried effect rewrites the same file rather than adding one.
 */
const fileTransport = (directory: string): MailTransport => {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true })
  let created: Promise<unknown> | undefined
  return {
    send: async (message) => {
      const { message: raw } = await transport.sendMail(message)
      await (created ??= mkdir(directory, { recursive: true }).catch((error) => {
        created = undefined
        throw error
      }))
      await writeFile(join(directory, `${message.messageId.replace(/[<>]/g, '')}.eml`), raw as Buffer)
    },
    close: () => transport.close()
  }
}

export const createMailTransport = ({ smtpUrl, directory }: { smtpUrl: string; directory: string }) =>
  smtpUrl ? smtpTransport(smtpUrl) : fileTransport(directory)
