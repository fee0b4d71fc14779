import { resolve } from '@feathersjs/schema'
import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, publicQuerySyntax, queryValidator, SingleLineText, type ServiceHookContext } from '@marketmesh/shared'
import { refundStatuses } from '../../orders/status'

const Uuid = Type.String({ format: 'uuid' })

export const refundSchema = Type.Object(
  {
    id: Uuid,
    orderId: Uuid,
    amount: Type.Integer({ minimum: 1 }),
    currency: Type.String(),
    /** Why: an admin's words, or how the order was cancelled (`cancelled_by_buyer`). Shown to the order's buyer and seller. */
    reason: Type.String(),
    /** Who asked for it: an admin's id, or the buyer or seller who cancelled. Shown to admins only. */
    by: Type.String(),
    /** `pending` until the provider has paid it back. */
    status: StringEnum([...refundStatuses]),
    /** The provider's reference once paid back. Shown to admins only. */
    refundReference: Type.Union([Type.String(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' })
  },
  { $id: 'Refund', additionalProperties: false }
)
export type Refund = Static<typeof refundSchema>

/** A field for admins; undefined (left out) for the order's buyer and seller. */
const onlyForAdmins = async <T>(value: T, _refund: Refund, context: ServiceHookContext) =>
  context.params.principal?.role === 'admin' ? value : undefined

export const refundExternalResolver = resolve<Refund, ServiceHookContext>({
  by: onlyForAdmins,
  refundReference: onlyForAdmins
})

export const refundDataSchema = Type.Object(
  {
    orderId: Uuid,
    /** Minor units; all that is left to refund when not given. */
    amount: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
    reason: SingleLineText({ minLength: 1, maxLength: 500 })
  },
  { $id: 'RefundData', additionalProperties: false }
)
export type RefundData = Static<typeof refundDataSchema>
export const refundDataValidator = getValidator(refundDataSchema, dataValidator)

export const refundQuerySchema = publicQuerySyntax(
  Type.Pick(refundSchema, ['orderId', 'status', 'createdAt']),
  Object.keys(refundSchema.properties) as [keyof Refund, ...Array<keyof Refund>]
)
export type RefundQuery = Static<typeof refundQuerySchema>
export const refundQueryValidator = getValidator(refundQuerySchema, queryValidator)
