import { BadRequest, NotFound } from '@feathersjs/errors'
import type { Id } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import { type Knex, type Principal, type ServiceApplication } from '@marketmesh/shared'
import {
  markRead,
  messageShown,
  openConversation,
  partyId,
  partyOf,
  postMessage,
  readableConversation,
  subjectOf,
  type ConversationRow,
  type MessageRow
} from '../../conversations/conversation'
import type { Conversation, ConversationData, ConversationPatch, ConversationQuery } from './conversations.schema'

export type { Conversation, ConversationData, ConversationPatch, ConversationQuery }

export type ConversationParams = KnexAdapterParams<ConversationQuery>

/** The transaction of `inTransaction()`, which the writing methods run in. */
export const transactionIn = (params: KnexAdapterParams) => {
  const trx = params.transaction?.trx
  if (!trx) throw new Error('conversations: writing methods run in the transaction of inTransaction()')
  return trx
}

export interface ConversationPage {
  total: number
  limit: number
  skip: number
  data: Conversation[]
}

type ListedRow = ConversationRow & { buyerName: string | null; shopName: string | null; lastMessage: MessageRow | null; unread: number }

/**
 * The conversations `principal` may read, with the names of the users read model (kept at the
 * newest `user.*`), the last message and the caller's unread count.
 */
const readable = (db: Knex, principal: Principal) => {
  const reader = principal.role === 'admin' ? null : principal.role === 'seller' ? principal.sellerId! : principal.id
  const listed = db('conversations as c')
    .leftJoin('users as b', 'b.id', 'c.buyerId')
    .leftJoin('users as s', 's.id', 'c.sellerId')
    .select('c.*', 'b.name as buyerName', 's.shopName as shopName')
    .select(
      db.raw(
        `(SELECT row_to_json(m) FROM conversation_messages m WHERE m."conversationId" = c.id ORDER BY m.position DESC LIMIT 1) AS "lastMessage"`
      ),
      db.raw(
        `(SELECT count(*)::integer FROM conversation_messages m
           WHERE m."conversationId" = c.id AND ?::uuid IS NOT NULL AND m."senderId" <> ?::uuid AND NOT m.hidden
             AND m.position > coalesce((SELECT r."readPosition" FROM conversation_reads r WHERE r."conversationId" = c.id AND r."userId" = ?::uuid), 0)
         ) AS unread`,
        [reader, reader, reader]
      )
    )
  if (principal.role === 'buyer') listed.where('c.buyerId', principal.id)
  if (principal.role === 'seller') listed.where('c.sellerId', principal.sellerId!)
  return db.from(listed.as('listed'))
}

const shown = (row: ListedRow, principal: Principal | undefined): Conversation => ({
  id: row.id,
  subject: { type: row.subjectType, id: row.subjectId, title: row.title },
  buyer: { id: row.buyerId, name: row.buyerName },
  seller: { id: row.sellerId, shopName: row.shopName },
  lastMessage: row.lastMessage && messageShown(row.lastMessage, principal),
  unread: row.unread,
  createdAt: new Date(row.createdAt).toISOString(),
  updatedAt: new Date(row.updatedAt).toISOString()
})

/** Conversations between buyers and shops: open one with a first message, list, read, mark read. */
export class ConversationService {
  constructor(private readonly app: ServiceApplication) {}

  private get db() {
    return this.app.get('postgresqlClient')
  }

  async find(params: ConversationParams): Promise<ConversationPage> {
    const principal = params.principal!
    const { $limit, $skip = 0, orderId, productId, unread } = params.query ?? {}
    const { default: defaultLimit, max } = this.app.get('paginate')
    const limit = Math.min($limit ?? defaultLimit, max)
    const query = readable(this.db, principal)
    if (orderId) query.where({ subjectType: 'order', subjectId: orderId })
    if (productId) query.where({ subjectType: 'product', subjectId: productId })
    if (unread === true) query.where('unread', '>', 0)
    if (unread === false) query.where('unread', 0)
    const [{ total }] = await query.clone().count({ total: '*' })
    const rows: ListedRow[] =
      limit === 0
        ? []
        : await query
            .orderBy([{ column: 'updatedAt', order: 'desc' }, { column: 'id' }])
            .limit(limit)
            .offset($skip)
    return { total: Number(total), limit, skip: $skip, data: rows.map((row) => shown(row, principal)) }
  }

  async get(id: Id, params: ConversationParams): Promise<Conversation> {
    const principal = params.principal!
    const row: ListedRow | undefined = await readable(this.db, principal)
      .where({ id: String(id) })
      .first()
    if (!row) throw new NotFound(`No conversation ${id}`)
    return shown(row, principal)
  }

  /** A buyer's message about an order or a product: in the conversation there is, or a new one. */
  async create(data: ConversationData, params: ConversationParams): Promise<Conversation> {
    const principal = params.principal!
    if (Boolean(data.orderId) === Boolean(data.productId))
      throw new BadRequest('Give either orderId or productId', { fields: ['orderId', 'productId'] })
    const trx = transactionIn(params)
    const subject = await subjectOf(trx, principal, data)
    const conversation = await openConversation(trx, principal, subject)
    await postMessage(this.app, trx, conversation, principal, data.body)
    return shown((await readable(trx, principal).where({ id: conversation.id }).first()) as ListedRow, principal)
  }

  /** Marks the conversation read by the caller up to a message of it. */
  async patch(id: Id | null, data: ConversationPatch, params: ConversationParams): Promise<Conversation> {
    const principal = params.principal!
    if (id === null) throw new BadRequest('Patch one conversation by its id')
    const trx = transactionIn(params)
    const conversation = await readableConversation(trx, String(id), principal)
    const role = partyOf(conversation, principal)
    const message = await trx('conversation_messages').first('position').where({ id: data.readUpTo, conversationId: conversation.id })
    if (!message) throw new BadRequest(`No message ${data.readUpTo} in this conversation`, { fields: ['readUpTo'] })
    if (role !== 'admin') await markRead(trx, conversation.id, partyId(conversation, role!), message.position)
    return shown((await readable(trx, principal).where({ id: conversation.id }).first()) as ListedRow, principal)
  }
}
