import type { JWTPayload } from 'jose'
import type { BaseSettings } from '../settings'
import { verifyAccessToken } from './access-token'
import { keyResolver, type KeyResolver } from './key-resolver'
import type { VerificationKeys } from './verification-keys'

/** How many verified tokens are remembered: a client sends the same one with every request until it expires. */
export const VERIFIED_TOKENS_KEPT = 10_000

interface Verification {
  claims: JWTPayload
  /** The key that verified the token: when it leaves the key set, so does the token. */
  kid: string
  /** Until when the token is taken again without its signature checked (ms since the epoch). */
  rememberedUntilMs: number
}

/**
 * Verifies access tokens with keys imported once, at start (`load`); a token only looks its `kid` up.
 * A token verified once is taken again without its signature checked (it cannot change: any other
 * string is another token) for `jwt.verifiedTokenMemoryMs` (a minute at most), never past its `exp`,
 * and only while its key is still in the set: a key removed from the JWKS stops opening anything
 * once the set is fetched again (`KEY_SET_MAX_AGE_MS`), whatever the `exp` of the tokens it signed.
 */
export class AccessTokenVerifier {
  private keys?: KeyResolver
  // In the order last used: the first is the one to forget.
  private readonly verified = new Map<string, Verification>()

  constructor(
    private readonly verificationKeys: VerificationKeys,
    private readonly jwt: BaseSettings['jwt']
  ) {}

  async load() {
    this.keys = await keyResolver(this.verificationKeys)
  }

  async verify(token: string): Promise<JWTPayload> {
    if (!this.keys) throw new Error('Access tokens are verified once the keys are loaded (app setup)')
    const known = this.verified.get(token)
    this.verified.delete(token)
    // Each caller gets its own copy, which it may change.
    if (known && known.rememberedUntilMs > Date.now() && this.keys.holds(known.kid)) return { ...this.remember(token, known).claims }
    const { claims, kid } = await verifyAccessToken(token, this.keys.resolve, this.jwt)
    const rememberedUntilMs = Math.min(claims.exp! * 1000, Date.now() + this.jwt.verifiedTokenMemoryMs)
    this.remember(token, { claims, kid, rememberedUntilMs })
    return { ...claims }
  }

  private remember(token: string, entry: Verification) {
    this.verified.set(token, entry)
    if (this.verified.size > VERIFIED_TOKENS_KEPT) this.verified.delete(this.verified.keys().next().value!)
    return entry
  }
}
