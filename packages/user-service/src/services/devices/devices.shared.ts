// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const devicePath = 'devices'

export const deviceMethods = ['find', 'get', 'create', 'remove'] as const
