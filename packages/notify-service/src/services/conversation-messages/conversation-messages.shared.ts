// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const conversationMessagePath = 'conversations/:conversationId/messages'

export const conversationMessageMethods = ['find', 'create', 'patch'] as const
