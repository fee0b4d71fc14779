// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const productPath = 'products'

export const productMethods = ['find', 'get', 'create', 'patch', 'remove'] as const
