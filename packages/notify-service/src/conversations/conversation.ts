import { Conflict, Forbidden, NotFound } from '@feathersjs/errors'
import { randomUUID } from 'node:crypto'
import type { Knex, Principal, ServiceApplication } from '@marketmesh/shared'
import { appendNotification, lockLog } from '../log/append'
import { isDisabledUser } from '../users'
import { scheduleConversationMail } from './mail'
import { takeMessageSlot } from './rate-limit'

export type SubjectType = 'order' | 'product'
export type PartyRole = 'buyer' | 'seller'

export interface ConversationRow {
  id: string
  buyerId: string
  sellerId: string
  subjectType: SubjectType
  subjectId: string
  title: string
  createdAt: Date
  updatedAt: Date
}

export interface MessageRow {
  id: string
  position: string
  conversationId: string
  senderId: string
  senderRole: PartyRole
  body: string
  hidden: boolean
  hiddenReason: string | null
  notificationId: string
  createdAt: Date
}

/** A message as a reader sees it: a hidden one is shown as removed, its text only to admins. */
export const messageShown = (row: MessageRow, reader: Pick<Principal, 'role'> | undefined) => ({
  id: row.id,
  conversationId: row.conversationId,
  senderId: row.senderId,
  senderRole: row.senderRole,
  body: row.hidden && reader?.role !== 'admin' ? '' : row.body,
  hidden: row.hidden,
  createdAt: new Date(row.createdAt).toISOString()
})

export type Message = ReturnType<typeof messageShown>

/** The party `principal` is in the conversation, `admin` (who reads all), or none: then it does not exist for them. */
export const partyOf = (conversation: Pick<ConversationRow, 'buyerId' | 'sellerId'>, principal: Principal): PartyRole | 'admin' | undefined => {
  if (principal.role === 'admin') return 'admin'
  if (principal.role === 'buyer' && conversation.buyerId === principal.id) return 'buyer'
  if (principal.role === 'seller' && conversation.sellerId === principal.sellerId) return 'seller'
  return undefined
}

/** The conversation `id` if `principal` may read it (a party or an admin); 404 otherwise, as if it did not exist. */
export const readableConversation = async (db: Knex, id: string, principal: Principal | undefined) => {
  const conversation: ConversationRow | undefined = await db('conversations').first().where({ id })
  if (!conversation || (principal && !partyOf(conversation, principal))) throw new NotFound(`No conversation ${id}`)
  return conversation
}

/** The user id of a party of the conversation (a shop's is its seller's). */
export const partyId = (conversation: Pick<ConversationRow, 'buyerId' | 'sellerId'>, role: PartyRole) =>
  role === 'buyer' ? conversation.buyerId : conversation.sellerId

const otherParty = (role: PartyRole): PartyRole => (role === 'buyer' ? 'seller' : 'buyer')

/**
 * What a buyer may talk about with which shop: their own order (the order read model, fed by
 * `order.*`) or a product that exists (fed by `product.*`). Anything else is 404.
 */
export const subjectOf = async (db: Knex, buyer: Principal, subject: { orderId?: string; productId?: string }) => {
  if (subject.orderId) {
    const order = await db('conversation_orders').first('sellerId').where({ orderId: subject.orderId, buyerId: buyer.id })
    if (!order) throw new NotFound(`No order ${subject.orderId}`)
    return { type: 'order' as const, id: subject.orderId, sellerId: order.sellerId as string, title: `Order ${subject.orderId.slice(0, 8)}` }
  }
  const product = await db('conversation_products').first('sellerId', 'title').where({ productId: subject.productId, deleted: false })
  if (!product) throw new NotFound(`No product ${subject.productId}`)
  return {
    type: 'product' as const,
    id: subject.productId!,
    sellerId: product.sellerId as string,
    title: (product.title as string | null) ?? 'Product'
  }
}

/** The buyer's conversation with the shop about the subject: the one there is, or a new one. */
export const openConversation = async (trx: Knex.Transaction, buyer: Principal, subject: Awaited<ReturnType<typeof subjectOf>>) => {
  await takeTurnToPost(trx, buyer.id)
  const key = { buyerId: buyer.id, sellerId: subject.sellerId, subjectType: subject.type, subjectId: subject.id }
  await trx('conversations')
    .insert({ id: randomUUID(), ...key, title: subject.title })
    .onConflict(['buyerId', 'sellerId', 'subjectType', 'subjectId'])
    .ignore()
  return (await trx('conversations').first().where(key)) as ConversationRow
}

/**
 * A party's message: within the sender's rate limit, not to a disabled party (409), written with
 * its `event: message` in the log for both parties' streams, `conversation.message.created` in the
 * outbox, and a mail timer for a recipient with no stream open.
 */
export const postMessage = async (app: ServiceApplication, trx: Knex.Transaction, conversation: ConversationRow, sender: Principal, body: string) => {
  const role = partyOf(conversation, sender)
  if (!role) throw new NotFound(`No conversation ${conversation.id}`)
  if (role === 'admin') throw new Forbidden('An admin reads conversations but does not post to them')
  const recipientId = partyId(conversation, otherParty(role))
  if (await isDisabledUser(trx, recipientId)) throw new Conflict('The other party’s account is disabled: this conversation is read-only')
  const senderId = partyId(conversation, role)
  // A token signed before the account was disabled is still valid a while: it posts nothing.
  if (await isDisabledUser(trx, senderId)) throw new Conflict('Your account is disabled')
  await takeTurnToPost(trx, senderId)
  const row = { id: randomUUID(), conversationId: conversation.id, senderId, senderRole: role, body, createdAt: new Date() }
  const shown = messageShown({ ...row, position: '0', hidden: false, hiddenReason: null, notificationId: '0' }, sender)
  const notificationId = await appendNotification(trx, {
    type: 'message',
    data: { conversationId: conversation.id, message: shown },
    audience: { userId: conversation.buyerId, sellerId: conversation.sellerId }
  })
  const [message]: MessageRow[] = await trx('conversation_messages')
    .insert({ ...row, notificationId })
    .returning('*')
  await trx('conversations').where({ id: conversation.id }).update({ updatedAt: row.createdAt })
  // The sender has read what they answer.
  await markRead(trx, conversation.id, senderId, message.position)
  await app.get('events').emit(trx, 'conversation.message.created', {
    conversationId: conversation.id,
    messageId: row.id,
    buyerId: conversation.buyerId,
    sellerId: conversation.sellerId,
    subject: { type: conversation.subjectType, id: conversation.subjectId },
    senderId,
    senderRole: role,
    body,
    createdAt: shown.createdAt
  })
  await scheduleConversationMail(app, trx, conversation.id, recipientId)
  return message
}

/**
 * The sender's rate limit, then the log's lock, before any row is written: this service's writers
 * take the log's lock before their row locks, so two never wait for each other in opposite order
 * (two buyers opening the same conversation at once included). Taking it again is free.
 */
const takeTurnToPost = async (trx: Knex.Transaction, senderId: string) => {
  await takeMessageSlot(trx, senderId)
  await lockLog(trx)
}

/** Moves a party's read marker forward to `position` (never back). */
export const markRead = async (trx: Knex.Transaction, conversationId: string, userId: string, position: string) => {
  await trx('conversation_reads')
    .insert({ conversationId, userId, readPosition: position })
    .onConflict(['conversationId', 'userId'])
    .merge({ readPosition: trx.raw('greatest(conversation_reads."readPosition", excluded."readPosition")') })
}

/**
 * An admin hides a message: both parties see it as removed from now on, in lists and in the log
 * (its `event: message` is rewritten, and a new one tells open streams). Hiding twice changes nothing.
 */
export const hideMessage = async (
  app: ServiceApplication,
  trx: Knex.Transaction,
  conversation: ConversationRow,
  messageId: string,
  admin: Principal,
  reason: string
) => {
  const message: MessageRow | undefined = await trx('conversation_messages')
    .first()
    .where({ id: messageId, conversationId: conversation.id })
    .forUpdate()
  if (!message) throw new NotFound(`No message ${messageId} in conversation ${conversation.id}`)
  if (message.hidden) return message
  const hidden = { ...message, hidden: true, hiddenReason: reason }
  const data = { conversationId: conversation.id, message: messageShown(hidden, undefined) }
  await appendNotification(trx, { type: 'message', data, audience: { userId: conversation.buyerId, sellerId: conversation.sellerId } })
  await trx('notifications')
    .where({ id: message.notificationId })
    .update({ data: JSON.stringify(data) })
  await trx('conversation_messages').where({ id: messageId }).update({ hidden: true, hiddenReason: reason })
  await app.get('events').emit(trx, 'conversation.message.hidden', { conversationId: conversation.id, messageId, hiddenBy: admin.id, reason })
  return hidden
}
