import type { UserHookContext } from '../users.class'

// A list of users to create is refused by the service (no multi); the hooks look at single records only.
export const dataOf = (context: UserHookContext) => (Array.isArray(context.data) ? undefined : context.data)
