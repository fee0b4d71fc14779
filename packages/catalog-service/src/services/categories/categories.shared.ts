// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const categoryPath = 'categories'

export const categoryMethods = ['find', 'get', 'create', 'patch', 'remove'] as const
