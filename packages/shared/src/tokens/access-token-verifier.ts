import type { JWTPayload, JWTVerifyGetKey } from 'jose'
import type { BaseSettings } from '../settings'
import { verifyAccessToken } from './access-token'
import { keyResolver } from './key-resolver'
import type { VerificationKeys } from './verification-keys'

/** How many verified tokens are remembered: a client sends the same one with every request until it expires. */
export const VERIFIED_TOKENS_KEPT = 10_000

/**
 * Verifies access tokens with keys imported once, at start (`load`); a token only looks its `kid` up.
 * A token verified once is taken again without its signature checked until it expires: it cannot
 * change (any other string is another token). Local keys only change with a restart; a key gone
 * from a JWKS stays in jose's copy of the set for up to 10 minutes anyway, less than a token lives.
 */
export class AccessTokenVerifier {
  private resolveKey?: JWTVerifyGetKey
  // In the order last used: the first is the one to forget.
  private readonly verified = new Map<string, { claims: JWTPayload; expiresAtMs: number }>()

  constructor(
    private readonly keys: VerificationKeys,
    private readonly jwt: BaseSettings['jwt']
  ) {}

  async load() {
    this.resolveKey = await keyResolver(this.keys)
  }

  async verify(token: string): Promise<JWTPayload> {
    if (!this.resolveKey) throw new Error('Access tokens are verified once the keys are loaded (app setup)')
    const known = this.verified.get(token)
    this.verified.delete(token)
    // Each caller gets its own copy, which it may change.
    if (known && known.expiresAtMs > Date.now()) return { ...this.remember(token, known).claims }
    const claims = await verifyAccessToken(token, this.resolveKey, this.jwt)
    this.remember(token, { claims, expiresAtMs: claims.exp! * 1000 })
    return { ...claims }
  }

  private remember(token: string, entry: { claims: JWTPayload; expiresAtMs: number }) {
    this.verified.set(token, entry)
    if (this.verified.size > VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value!)
    return entry
  }
}
