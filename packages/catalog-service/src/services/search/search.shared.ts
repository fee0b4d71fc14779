// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const searchPath = 'search'

export const searchMethods = ['find'] as const
