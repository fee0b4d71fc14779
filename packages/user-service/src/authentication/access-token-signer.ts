import { importSigningKey, signAccessToken, type AccessTokenClaims, type BaseSettings, type PrivateJwk, type SigningKey } from '@marketmesh/shared'

/** Signs access tokens with the private key, imported once, at start (`load`). */
export class AccessTokenSigner {
  private signingKey?: SigningKey

  constructor(
    private readonly jwk: PrivateJwk,
    private readonly jwt: BaseSettings['jwt']
  ) {}

  async load() {
    this.signingKey = await importSigningKey(this.jwk)
  }

  async sign(claims: AccessTokenClaims) {
    if (!this.signingKey) throw new Error('Access tokens are signed once the key is loaded (app setup)')
    return signAccessToken(this.signingKey, claims, this.jwt)
  }
}
