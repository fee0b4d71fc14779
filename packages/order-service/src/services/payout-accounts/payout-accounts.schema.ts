import { resolve } from '@feathersjs/schema'
import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, publicQuerySyntax, queryValidator, type ServiceHookContext } from '@marketmesh/shared'
import { payoutAccountStatuses } from '../../payouts/payout'

const Uuid = Type.String({ format: 'uuid' })
const WebUrl = Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 })

export const payoutAccountSchema = Type.Object(
  {
    id: Uuid,
    sellerId: Uuid,
    /** The payment provider the account is at (`test`, `stripe`): a checkout paid there pays the seller there. */
    provider: Type.String(),
    /** The provider's id of the account. Shown to admins only. */
    accountId: Type.Optional(Type.String()),
    /** `enabled` once the provider may pay the seller; `pending` while onboarding; `restricted` when the provider needs more. */
    status: StringEnum([...payoutAccountStatuses]),
    /** What the provider still needs from the seller (Stripe: requirements.currently_due). */
    requirements: Type.Array(Type.String()),
    /** Answers to POST only: a one-time link to the provider's onboarding, to open in the seller's browser. */
    onboardingUrl: Type.Optional(Type.String()),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' })
  },
  { $id: 'PayoutAccount', additionalProperties: false }
)
export type PayoutAccount = Static<typeof payoutAccountSchema>

export const payoutAccountExternalResolver = resolve<PayoutAccount, ServiceHookContext>({
  accountId: async (value, _account, context) => (context.params.principal?.role === 'admin' ? value : undefined)
})

export const payoutAccountDataSchema = Type.Object(
  {
    provider: Type.String({ minLength: 1, maxLength: 50 }),
    /** ISO 3166-1 alpha-2, for the provider's onboarding (Stripe: the account's country). */
    country: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$' })),
    /** Where the provider sends the seller back after the onboarding. */
    returnUrl: WebUrl,
    /** Where the provider sends the seller when the link has expired (default: returnUrl). */
    refreshUrl: Type.Optional(WebUrl)
  },
  { $id: 'PayoutAccountData', additionalProperties: false }
)
export type PayoutAccountData = Static<typeof payoutAccountDataSchema>
export const payoutAccountDataValidator = getValidator(payoutAccountDataSchema, dataValidator)

export const payoutAccountQuerySchema = publicQuerySyntax(Type.Pick(payoutAccountSchema, ['sellerId', 'provider', 'status', 'createdAt']), [
  'id',
  'sellerId',
  'provider',
  'status',
  'requirements',
  'createdAt',
  'updatedAt'
])
export type PayoutAccountQuery = Static<typeof payoutAccountQuerySchema>
export const payoutAccountQueryValidator = getValidator(payoutAccountQuerySchema, queryValidator)
