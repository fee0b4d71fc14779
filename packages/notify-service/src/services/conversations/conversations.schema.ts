import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, queryValidator } from '@marketmesh/shared'
import { MessageBody, messageSchema } from '../conversation-messages/conversation-messages.schema'

export const conversationSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    subject: Type.Object({ type: StringEnum(['order', 'product']), id: Type.String({ format: 'uuid' }), title: Type.String() }),
    /** Names as `user.*` last gave them (null before the user's first event arrived). */
    buyer: Type.Object({ id: Type.String({ format: 'uuid' }), name: Type.Union([Type.String(), Type.Null()]) }),
    seller: Type.Object({ id: Type.String({ format: 'uuid' }), shopName: Type.Union([Type.String(), Type.Null()]) }),
    lastMessage: Type.Union([messageSchema, Type.Null()]),
    /** The other party's messages after the caller's `readUpTo` (0 for admins). */
    unread: Type.Integer({ minimum: 0 }),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' })
  },
  { $id: 'Conversation', additionalProperties: false }
)
export type Conversation = Static<typeof conversationSchema>

/** A buyer's first message, about one of their orders or a product (exactly one of the two). */
export const conversationDataSchema = Type.Object(
  { orderId: Type.Optional(Type.String({ format: 'uuid' })), productId: Type.Optional(Type.String({ format: 'uuid' })), body: MessageBody },
  { $id: 'ConversationData', additionalProperties: false }
)
export type ConversationData = Static<typeof conversationDataSchema>
export const conversationDataValidator = getValidator(conversationDataSchema, dataValidator)

/** The caller has read up to this message (and all before it). */
export const conversationPatchSchema = Type.Object(
  { readUpTo: Type.String({ format: 'uuid' }) },
  { $id: 'ConversationPatch', additionalProperties: false }
)
export type ConversationPatch = Static<typeof conversationPatchSchema>
export const conversationPatchValidator = getValidator(conversationPatchSchema, dataValidator)

export const conversationQuerySchema = Type.Object(
  {
    $limit: Type.Optional(Type.Integer({ minimum: 0 })),
    $skip: Type.Optional(Type.Integer({ minimum: 0 })),
    orderId: Type.Optional(Type.String({ format: 'uuid' })),
    productId: Type.Optional(Type.String({ format: 'uuid' })),
    unread: Type.Optional(Type.Boolean())
  },
  { $id: 'ConversationQuery', additionalProperties: false }
)
export type ConversationQuery = Static<typeof conversationQuerySchema>
export const conversationQueryValidator = getValidator(conversationQuerySchema, queryValidator)
