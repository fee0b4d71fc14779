import { type SideEffect } from '@marketmesh/events'
import { durationMs, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { MAIL_EFFECT, type MailPayload } from '../mail/mail'
import { isStreaming } from './presence'

/** The timer of a party's next conversation mail (a side effect: durable, on one instance, once). */
export const CONVERSATION_MAIL_EFFECT = 'conversation-mail'

interface ConversationMailTimer {
  conversationId: string
  userId: string
}

const QUOTED_AT_MOST = 20

/**
 * A message for a party with no stream open: their next mail about the conversation is due now,
 * or `mailAfter` after the last one. One timer per mail: its key is the position mailed up to, which
 * only a mail (or a timer that finds all read) moves, so all messages meanwhile share it. The party's
 * marker row is locked, as the timer locks it: a message and a timer running at once see each other.
 */
export const scheduleConversationMail = async (app: ServiceApplication, trx: Knex.Transaction, conversationId: string, userId: string) => {
  if (await isStreaming(trx, userId)) return
  await trx('conversation_reads').insert({ conversationId, userId }).onConflict(['conversationId', 'userId']).ignore()
  const marker = await trx('conversation_reads').first('mailedPosition', 'mailedAt').where({ conversationId, userId }).forUpdate()
  const dueInMs = marker.mailedAt ? new Date(marker.mailedAt).getTime() + durationMs(app.get('conversations').mailAfter) - Date.now() : 0
  const timer: ConversationMailTimer = { conversationId, userId }
  await app
    .get('events')
    .effects.schedule(trx, CONVERSATION_MAIL_EFFECT, `${conversationId}:${userId}:${marker.mailedPosition}`, timer, { delayMs: Math.max(0, dueInMs) })
}

/**
 * When a timer is due: the other party's messages the recipient has neither read nor been mailed,
 * quoted in one mail (its own side effect, keyed by the timer, so it goes once), with a link to the
 * conversation. Nothing to quote (read meanwhile, or hidden): no mail.
 */
const mailUnread =
  (app: ServiceApplication) =>
  async ({ id, payload }: SideEffect<ConversationMailTimer>) => {
    const { conversationId, userId } = payload
    await app.get('postgresqlClient').transaction(async (trx) => {
      const marker = await trx('conversation_reads').first('readPosition', 'mailedPosition').where({ conversationId, userId }).forUpdate()
      const conversation = await trx('conversations').first().where({ id: conversationId })
      const after = Math.max(Number(marker.readPosition), Number(marker.mailedPosition))
      const unread = await trx('conversation_messages')
        .select('body', 'createdAt', 'position')
        .where({ conversationId, hidden: false })
        .whereNot({ senderId: userId })
        .where('position', '>', after)
        .orderBy('position')
      const [{ last }] = await trx('conversation_messages').where({ conversationId }).max({ last: 'position' })
      await trx('conversation_reads')
        .where({ conversationId, userId })
        .update({ mailedPosition: Math.max(after, Number(last ?? 0)), ...(unread.length > 0 && { mailedAt: trx.fn.now() }) })
      if (unread.length === 0) return
      const base = app.get('mail').appUrl.replace(/\/+$/, '')
      const names = await trx('users')
        .first('name', 'shopName')
        .where({ id: userId === conversation.buyerId ? conversation.sellerId : conversation.buyerId })
      const from = userId === conversation.buyerId ? (names?.shopName ?? names?.name ?? 'The shop') : (names?.name ?? 'The buyer')
      const mail: MailPayload = {
        template: 'conversation-message',
        to: userId,
        context: {
          from,
          title: conversation.title,
          count: unread.length,
          messages: unread.slice(-QUOTED_AT_MOST).map(({ body, createdAt }) => ({ body, sentAt: new Date(createdAt).toISOString() })),
          link: `${base}/conversations/${conversationId}`
        }
      }
      await app.get('events').effects.schedule(trx, MAIL_EFFECT, `conversation:${id}`, mail)
    })
  }

export const conversationMail = (app: ServiceApplication) => {
  app.get('events').effects.perform(CONVERSATION_MAIL_EFFECT, mailUnread(app))
}
