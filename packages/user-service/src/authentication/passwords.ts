import { randomBytes } from 'node:crypto'
import argon2 from 'argon2'
import bcrypt from 'bcryptjs'

/** The OWASP Password Storage Cheat Sheet's argon2id: 19 MiB of memory, 2 iterations, 1 lane. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

const BCRYPT_HASH = /^\$2[aby]\$/

export interface PasswordCheck {
  valid: boolean
  /** The hash is of an older kind or older parameters: store a new one of the password just checked. */
  outdated: boolean
}

/**
 * Password hashes: argon2id, which reads the whole password (bcrypt reads only its first 72 bytes).
 * Hashes of accounts from before argon2 are bcrypt's: they are still checked, and replaced by the
 * caller once the password has been given (see `outdated`).
 */
export class PasswordHasher {
  private decoy?: Promise<string>

  hash(password: string) {
    return argon2.hash(password, ARGON2_OPTIONS)
  }

  async check(hash: string, password: string): Promise<PasswordCheck> {
    if (hash.startsWith('$argon2')) {
      const valid = await argon2.verify(hash, password)
      return { valid, outdated: valid && argon2.needsRehash(hash, ARGON2_OPTIONS) }
    }
    // A legacy hash covers the first 72 bytes of the password it was made of; the argon2id hash that
    // replaces it after this check covers all of it.
    if (BCRYPT_HASH.test(hash)) {
      const valid = await bcrypt.compare(password, hash)
      return { valid, outdated: valid }
    }
    return { valid: false, outdated: false }
  }

  /**
   * Spends the time of a password check for a login whose email has no account, against the hash of
   * a random password made once, so that the answer's timing does not tell which emails have one.
   */
  async checkDecoy(password: string) {
    this.decoy ??= this.hash(randomBytes(32).toString('base64url'))
    await this.check(await this.decoy, password)
  }
}
