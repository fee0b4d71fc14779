import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, MultiLineText, queryValidator } from '@marketmesh/shared'

export const messageSchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    conversationId: Type.String({ format: 'uuid' }),
    senderId: Type.String({ format: 'uuid' }),
    senderRole: StringEnum(['buyer', 'seller']),
    /** Text, never HTML; empty when the message is hidden (admins still see it). */
    body: Type.String(),
    /** Hidden by an admin: shown to the parties as removed. */
    hidden: Type.Boolean(),
    createdAt: Type.String({ format: 'date-time' })
  },
  { $id: 'ConversationMessage', additionalProperties: false }
)

/** A message's text: 1–4,000 characters, no control characters but line breaks. */
export const MessageBody = MultiLineText({ minLength: 1, maxLength: 4000 })

export const messageDataSchema = Type.Object({ body: MessageBody }, { $id: 'ConversationMessageData', additionalProperties: false })
export type MessageData = Static<typeof messageDataSchema>
export const messageDataValidator = getValidator(messageDataSchema, dataValidator)

/** An admin's moderation: hide the message, saying why. */
export const messagePatchSchema = Type.Object(
  { hidden: Type.Literal(true), reason: MultiLineText({ minLength: 1, maxLength: 500 }) },
  { $id: 'ConversationMessagePatch', additionalProperties: false }
)
export type MessagePatch = Static<typeof messagePatchSchema>
export const messagePatchValidator = getValidator(messagePatchSchema, dataValidator)

/** Oldest first: `$limit`/`$skip`, or `after` a message id. */
export const messageQuerySchema = Type.Object(
  {
    $limit: Type.Optional(Type.Integer({ minimum: 0 })),
    $skip: Type.Optional(Type.Integer({ minimum: 0 })),
    after: Type.Optional(Type.String({ format: 'uuid' }))
  },
  { $id: 'ConversationMessageQuery', additionalProperties: false }
)
export type MessageQuery = Static<typeof messageQuerySchema>
export const messageQueryValidator = getValidator(messageQuerySchema, queryValidator)
