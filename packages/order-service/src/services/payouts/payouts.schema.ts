import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { publicQuerySyntax, queryValidator } from '@marketmesh/shared'
import { payoutStatuses } from '../../payouts/payout'

const Uuid = Type.String({ format: 'uuid' })
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

export const payoutSchema = Type.Object(
  {
    id: Uuid,
    sellerId: Uuid,
    orderId: Uuid,
    provider: Type.String(),
    /** Minor units: what was owed to the seller for the order when its transfer started. */
    amount: Type.Integer({ minimum: 0 }),
    currency: Type.String(),
    /** `pending` waits for the seller's enabled payout account or the transfer's answer. */
    status: StringEnum([...payoutStatuses]),
    /** The provider's transfer id once paid. */
    reference: Nullable(Type.String()),
    /** Why the transfer failed, in the provider's words. */
    failureReason: Nullable(Type.String()),
    /** Taken back of the transfer so far (refunds after the payout, or the provider). */
    reversedAmount: Type.Integer({ minimum: 0 }),
    /** The failed or reversed payout this one pays again. */
    retryOf: Nullable(Uuid),
    createdAt: Type.String({ format: 'date-time' }),
    paidAt: Nullable(Type.String({ format: 'date-time' }))
  },
  { $id: 'Payout', additionalProperties: false }
)
export type Payout = Static<typeof payoutSchema>

/** The columns a caller sees: the account and the transfer's start are the platform's business. */
export const payoutColumns = Object.keys(payoutSchema.properties) as [keyof Payout, ...Array<keyof Payout>]

export const payoutQuerySchema = publicQuerySyntax(Type.Pick(payoutSchema, ['status', 'orderId', 'sellerId', 'createdAt']), payoutColumns)
export type PayoutQuery = Static<typeof payoutQuerySchema>
export const payoutQueryValidator = getValidator(payoutQuerySchema, queryValidator)
