// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const announcementPath = 'announcements'

export const announcementMethods = ['find', 'create'] as const
