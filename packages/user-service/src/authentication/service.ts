import type { AuthenticationParams, AuthenticationResult } from '@feathersjs/authentication'
import { NotAuthenticated } from '@feathersjs/errors'
import type { NullableId } from '@feathersjs/feathers'
import { AccessTokenAuthenticationService, type PrivateJwk, type PublicJwk, type ServiceApplication } from '@marketmesh/shared'
import type { User } from '../services/users/users.schema'
import { AccessTokenSigner } from './access-token-signer'
import type { SessionStore } from './sessions'

/**
 * POST /authentication signs the access token every service verifies (claims `sub`, `role`,
 * `sellerId` for sellers, `email_verified`, and `sid`, the session of the refresh token issued with it) with the
 * private key only this service has. DELETE /authentication with that access token is the logout:
 * it revokes the session's refresh tokens.
 */
export class UserAuthenticationService extends AccessTokenAuthenticationService {
  // Its key is loaded in setup, which Feathers runs on a wrapper of this service: kept in an object of its own.
  private readonly signer: AccessTokenSigner

  constructor(
    app: ServiceApplication,
    private readonly sessions: SessionStore,
    signingKey: PrivateJwk,
    publicKeys: PublicJwk[]
  ) {
    super(app, { keys: publicKeys })
    this.signer = new AccessTokenSigner(signingKey, app.get('jwt'))
  }

  override async setup() {
    await this.signer.load()
    await super.setup()
  }

  override async getPayload(authResult: AuthenticationResult, params: AuthenticationParams) {
    const user: User = authResult.user
    return {
      ...(await super.getPayload(authResult, params)),
      role: user.role,
      ...(user.role === 'seller' ? { sellerId: user.id } : {}),
      // OpenID Connect's claim: order-service lets only verified buyers check out (REQUIRE_VERIFIED_EMAIL).
      email_verified: user.emailVerifiedAt !== null && user.emailVerifiedAt !== undefined,
      ...(typeof authResult.sessionId === 'string' ? { sid: authResult.sessionId } : {})
    }
  }

  /** Feathers passes the claims from getPayload and the subject, the user id, from getTokenOptions. */
  override async createAccessToken(payload: { role: string }, { subject }: { subject: string }) {
    return this.signer.sign({ ...payload, sub: subject })
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
