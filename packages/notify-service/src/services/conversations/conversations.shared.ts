// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const conversationPath = 'conversations'

export const conversationMethods = ['find', 'get', 'create', 'patch'] as const
