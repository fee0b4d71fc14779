import type { HookContext } from '@feathersjs/feathers'

/** After hook: 202 Accepted, for a request whose outcome comes later (by mail) and is not told. */
export const answerAccepted = (context: HookContext) => {
  context.http = { ...context.http, status: 202 }
}
