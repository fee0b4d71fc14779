import { BadRequest, Forbidden } from '@feathersjs/errors'
import type { Id } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import type { ServiceApplication } from '@marketmesh/shared'
import { hideMessage, messageShown, postMessage, readableConversation, type Message, type MessageRow } from '../../conversations/conversation'
import { transactionIn } from '../conversations/conversations.class'
import type { MessageData, MessagePatch, MessageQuery } from './conversation-messages.schema'

export type ConversationMessageParams = KnexAdapterParams<MessageQuery> & { route: { conversationId: string } }

export interface MessagePage {
  total: number
  limit: number
  skip: number
  data: Message[]
}

/** The messages of one conversation (`/conversations/:conversationId/messages`), for its parties and admins. */
export class ConversationMessageService {
  constructor(private readonly app: ServiceApplication) {}

  /** Oldest first; `after` a message id, or `$skip`. */
  async find(params: ConversationMessageParams): Promise<MessagePage> {
    const db = this.app.get('postgresqlClient')
    const conversation = await readableConversation(db, params.route.conversationId, params.principal)
    const { $limit, $skip = 0, after } = params.query ?? {}
    const { default: defaultLimit, max } = this.app.get('paginate')
    const limit = Math.min($limit ?? defaultLimit, max)
    const query = db('conversation_messages').where({ conversationId: conversation.id })
    if (after) {
      const from = await db('conversation_messages').first('position').where({ id: after, conversationId: conversation.id })
      if (!from) throw new BadRequest(`No message ${after} in this conversation`, { fields: ['after'] })
      query.where('position', '>', from.position)
    }
    const [{ total }] = await query.clone().count({ total: '*' })
    const rows: MessageRow[] = limit === 0 ? [] : await query.orderBy('position').limit(limit).offset($skip)
    return { total: Number(total), limit, skip: $skip, data: rows.map((row) => messageShown(row, params.principal)) }
  }

  async create(data: MessageData, params: ConversationMessageParams): Promise<Message> {
    const trx = transactionIn(params)
    const conversation = await readableConversation(trx, params.route.conversationId, params.principal)
    return messageShown(await postMessage(this.app, trx, conversation, params.principal!, data.body), params.principal)
  }

  /** An admin's moderation: hides the message. */
  async patch(id: Id | null, data: MessagePatch, params: ConversationMessageParams): Promise<Message> {
    if (id === null) throw new BadRequest('Patch one message by its id')
    const trx = transactionIn(params)
    const conversation = await readableConversation(trx, params.route.conversationId, params.principal)
    if (params.principal?.role !== 'admin') throw new Forbidden('Only an admin hides a message')
    return messageShown(await hideMessage(this.app, trx, conversation, String(id), params.principal, data.reason), params.principal)
  }
}
