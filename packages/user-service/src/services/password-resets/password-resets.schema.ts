import { getValidator, Type, type Static } from '@feathersjs/typebox'
import { dataValidator } from '@marketmesh/shared'
import { password } from '../users/users.schema'

/** POST /password-resets: the email of the account whose password is forgotten. */
export const passwordResetDataSchema = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 254 }) },
  { $id: 'PasswordResetData', additionalProperties: false }
)
export type PasswordResetData = Static<typeof passwordResetDataSchema>
export const passwordResetDataValidator = getValidator(passwordResetDataSchema, dataValidator)

/** The answer, the same whether the email has an account or not. */
export const passwordResetSchema = Type.Object({ email: Type.String() }, { $id: 'PasswordReset', additionalProperties: false })
export type PasswordReset = Static<typeof passwordResetSchema>

/** POST /password-resets/confirm: the token of the mailed link and the new password. */
export const passwordResetConfirmationDataSchema = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), password },
  { $id: 'PasswordResetConfirmationData', additionalProperties: false }
)
export type PasswordResetConfirmationData = Static<typeof passwordResetConfirmationDataSchema>
export const passwordResetConfirmationDataValidator = getValidator(passwordResetConfirmationDataSchema, dataValidator)

export const passwordResetConfirmationSchema = Type.Object(
  { userId: Type.String({ format: 'uuid' }) },
  { $id: 'PasswordResetConfirmation', additionalProperties: false }
)
export type PasswordResetConfirmation = Static<typeof passwordResetConfirmationSchema>
