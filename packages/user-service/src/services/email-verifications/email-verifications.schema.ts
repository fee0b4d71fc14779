import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { dataValidator } from '@marketmesh/shared'

/** POST /email-verifications takes nothing: it is for the caller's own email. */
export const emailVerificationDataSchema = Type.Object({}, { $id: 'EmailVerificationData', additionalProperties: false })
export type EmailVerificationData = Static<typeof emailVerificationDataSchema>
export const emailVerificationDataValidator = getValidator(emailVerificationDataSchema, dataValidator)

/** The address the link is mailed to. */
export const emailVerificationSchema = Type.Object({ email: Type.String() }, { $id: 'EmailVerification', additionalProperties: false })
export type EmailVerification = Static<typeof emailVerificationSchema>

/** POST /email-verifications/confirm: the token of the mailed link. */
export const emailVerificationConfirmationDataSchema = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }) },
  { $id: 'EmailVerificationConfirmationData', additionalProperties: false }
)
export type EmailVerificationConfirmationData = Static<typeof emailVerificationConfirmationDataSchema>
export const emailVerificationConfirmationDataValidator = getValidator(emailVerificationConfirmationDataSchema, dataValidator)

export const emailVerificationConfirmationSchema = Type.Object(
  { userId: Type.String({ format: 'uuid' }), emailVerifiedAt: Type.String({ format: 'date-time' }) },
  { $id: 'EmailVerificationConfirmation', additionalProperties: false }
)
export type EmailVerificationConfirmation = Static<typeof emailVerificationConfirmationSchema>
