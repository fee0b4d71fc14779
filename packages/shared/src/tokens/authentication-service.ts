import { AuthenticationService } from '@feathersjs/authentication'
import type { ServiceApplication } from '../declarations'
import { AccessTokenVerifier } from './access-token-verifier'
import type { VerificationKeys } from './verification-keys'

/**
 * Feathers' authentication service, verifying access tokens with jose against public keys only.
 * user-service's, which issues the tokens, extends it.
 */
export class AccessTokenAuthenticationService extends AuthenticationService {
  // Feathers sets up a wrapper of the service (Object.create) while the strategies call the service
  // itself: what setup loads lives in an object both reach.
  private readonly verifier: AccessTokenVerifier

  constructor(app: ServiceApplication, keys: VerificationKeys) {
    super(app)
    this.verifier = new AccessTokenVerifier(keys, app.get('jwt'))
  }

  // Feathers' setup insists on a `secret` for its own HMAC tokens. These have none: an empty one
  // makes any call that would still reach Feathers' jsonwebtoken signing fail instead of sign.
  override get configuration() {
    return { ...super.configuration, secret: '' }
  }

  override async setup() {
    await this.verifier.load()
    await super.setup()
  }

  override async verifyAccessToken(accessToken: string) {
    return this.verifier.verify(accessToken)
  }
}
