import type { JWTVerifyGetKey } from 'jose'
import type { BaseSettings } from '../settings'
import { verifyAccessToken } from './access-token'
import { keyResolver } from './key-resolver'
import type { VerificationKeys } from './verification-keys'

/** Verifies access tokens with keys imported once, at start (`load`); a token only looks its `kid` up. */
export class AccessTokenVerifier {
  private resolveKey?: JWTVerifyGetKey

  constructor(
    private readonly keys: VerificationKeys,
    private readonly jwt: BaseSettings['jwt']
  ) {}

  async load() {
    this.resolveKey = await keyResolver(this.keys)
  }

  async verify(token: string) {
    if (!this.resolveKey) throw new Error('Access tokens are verified once the keys are loaded (app setup)')
    return verifyAccessToken(token, this.resolveKey, this.jwt)
  }
}
