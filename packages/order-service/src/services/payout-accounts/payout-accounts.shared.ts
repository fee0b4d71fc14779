// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const payoutAccountPath = 'payout-accounts'

export const payoutAccountMethods = ['find', 'create'] as const
