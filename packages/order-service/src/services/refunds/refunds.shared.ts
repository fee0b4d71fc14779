// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const refundPath = 'refunds'

export const refundMethods = ['find', 'create'] as const
