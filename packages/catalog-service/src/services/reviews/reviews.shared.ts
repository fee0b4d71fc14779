// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const reviewPath = 'reviews'

export const reviewMethods = ['find', 'get', 'create'] as const
