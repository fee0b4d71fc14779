// What @marketmesh/client relies on: the path and the methods callers from outside may use (its contract test checks they agree).
export const printJobPath = 'print-jobs'

export const printJobMethods = ['find', 'get', 'create', 'patch'] as const
