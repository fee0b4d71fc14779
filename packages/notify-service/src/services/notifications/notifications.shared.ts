// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const notificationPath = 'notifications'

export const notificationMethods = ['find'] as const
