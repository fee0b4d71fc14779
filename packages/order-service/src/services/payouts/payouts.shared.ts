// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const payoutPath = 'payouts'

export const payoutMethods = ['find'] as const
