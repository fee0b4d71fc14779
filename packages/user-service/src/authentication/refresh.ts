import { AuthenticationBaseStrategy, type AuthenticationParams, type AuthenticationRequest } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import type { User } from '../services/users/users.schema'
import { userPath } from '../services/users/users.shared'
import type { SessionStore } from './sessions'

/** `{ strategy: 'refresh', refreshToken }`: a used refresh token buys a new access token and its own successor. */
export class RefreshTokenStrategy extends AuthenticationBaseStrategy {
  constructor(private readonly sessions: SessionStore) {
    super()
  }

  async authenticate(authentication: AuthenticationRequest, params: AuthenticationParams) {
    const { refreshToken } = authentication
    if (typeof refreshToken !== 'string' || refreshToken === '') throw new NotAuthenticated('No refresh token')
    const session = await this.sessions.rotate(refreshToken)
    const users = this.app!.service(userPath)
    const { provider, ...internal } = params
    const user: User = await users.get(session.userId, internal)
    if (user.status !== 'active') throw new NotAuthenticated('This account is disabled')
    // As the local and JWT strategies do: an external caller gets the user as the users service shows it.
    return {
      authentication: { strategy: this.name },
      user: provider ? await users.get(user.id, { ...params, user }) : user,
      ...session
    }
  }
}
