import { AuthenticationService, type AuthenticationParams, type AuthenticationResult } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import type { NullableId } from '@feathersjs/feathers'
import type { ServiceApplication } from '@marketmesh/shared'
import type { User } from '../services/users/users.schema'
import type { SessionStore } from './sessions'

/**
 * POST /authentication signs the access token every service verifies (claims `sub`, `role`,
 * `sellerId` for sellers, and `sid`, the session of the refresh token issued with it).
 * DELETE /authentication with that access token is the logout: it revokes the session's refresh tokens.
 */
export class UserAuthenticationService extends AuthenticationService {
  constructor(
    app: ServiceApplication,
    private readonly sessions: SessionStore
  ) {
    super(app)
  }

  override async getPayload(authResult: AuthenticationResult, params: AuthenticationParams) {
    const user: User = authResult.user
    return {
      ...(await super.getPayload(authResult, params)),
      role: user.role,
      ...(user.role === 'seller' ? { sellerId: user.id } : {}),
      ...(typeof authResult.sessionId === 'string' ? { sid: authResult.sessionId } : {})
    }
  }

  override async remove(id: NullableId, params: AuthenticationParams) {
    // Feathers' own remove reads the token of params.authentication and fails without one.
    if (!params.authentication) throw new NotAuthenticated('Logging out takes the access token in the Authorization header')
    const result = await super.remove(id as string | null, params)
    const sessionId = result.authentication?.payload?.sid
    if (typeof sessionId === 'string') await this.sessions.revoke(sessionId)
    return result
  }
}
