// What @marketmesh/client relies on: the paths and the methods callers from outside may use (its contract test checks they agree).
export const emailVerificationPath = 'email-verifications'
export const emailVerificationMethods = ['create'] as const

export const emailVerificationConfirmationPath = 'email-verifications/confirm'
export const emailVerificationConfirmationMethods = ['create'] as const
