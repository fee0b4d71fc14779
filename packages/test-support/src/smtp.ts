import type { AddressInfo } from 'node:net'
import { simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  messageId: string
  to: string
  /** The name in the To header. */
  toName: string
  subject: string
  text: string
  html: string
}

/**
 * A real SMTP server on loopback that keeps what it receives and counts its connections (and the
 * errors of connections that broke off); `failing` answers every message with a temporary error.
 */
export const startSmtpServer = async (port = 0) => {
  const received: ReceivedMail[] = []
  const state = { failing: false, attempts: 0, connections: 0, connectionErrors: [] as string[] }
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      state.connections++
      callback()
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', async () => {
        state.attempts++
        if (state.failing) return callback(Object.assign(new Error('Try again later'), { responseCode: 451 }))
        const parsed = await simpleParser(Buffer.concat(chunks))
        received.push({
          messageId: parsed.messageId ?? '',
          to: session.envelope.rcptTo.map(({ address }) => address).join(','),
          toName: (Array.isArray(parsed.to) ? parsed.to : [parsed.to]).flatMap((to) => to?.value.map(({ name }) => name) ?? []).join(','),
          subject: parsed.subject ?? '',
          text: parsed.text ?? '',
          html: typeof parsed.html === 'string' ? parsed.html : ''
        })
        callback()
      })
    }
  })
  // smtp-server emits a client's connection errors on the server: a sender killed mid-session (the
  // fault tests SIGKILL notify-service) resets its socket, which unheard would be an uncaught exception.
  server.on('error', (error: NodeJS.ErrnoException) => {
    state.connectionErrors.push(error.code ?? error.message)
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const address = server.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${address.port}`,
    port: address.port,
    received,
    state,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
