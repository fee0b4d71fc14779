import type { HookContext } from '@feathersjs/feathers'
import { authenticated } from '@marketmesh/shared'

const authenticate = authenticated()

/** For public reads: anyone may call, and a caller who sends a token is identified (and a bad token refused). */
export const authenticateIfToken = () => (context: HookContext) =>
  context.params.authentication ? authenticate(context) : undefined
