// What @marketmesh/client relies on: the paths and the methods callers from outside may use (its contract test checks they agree).
export const passwordResetPath = 'password-resets'
export const passwordResetMethods = ['create'] as const

export const passwordResetConfirmationPath = 'password-resets/confirm'
export const passwordResetConfirmationMethods = ['create'] as const
