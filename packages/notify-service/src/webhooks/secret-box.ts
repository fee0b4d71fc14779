import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

const VERSION = 'v1'
const IV_BYTES = 12

interface Key {
  id: string
  bytes: Buffer
}

/**
 * Seals the webhook endpoints' signing secrets for the database and opens them to sign: AES-256-GCM
 * under the first of `keys`, the sealed text naming its key (`v1.<key id>.<iv>.<tag>.<ciphertext>`,
 * base64url), so that any of `keys` opens what it sealed. A database dump alone signs nothing.
 *
 * Rotating the key: put the new one first and keep the old ones after it; secrets sealed under an
 * old key still open, and each is sealed under the new one when it is next made or rotated.
 */
export class SecretBox {
  private readonly keys: Key[]

  /** `keys`: at least 32 characters each; each is hashed to the 32 bytes AES-256 takes. */
  constructor(keys: string[]) {
    if (keys.length === 0) throw new Error('SecretBox needs at least one key')
    this.keys = keys.map((key) => {
      const bytes = createHash('sha256').update(key).digest()
      return { bytes, id: createHash('sha256').update(bytes).digest('base64url').slice(0, 8) }
    })
  }

  seal(secret: string) {
    const [key] = this.keys
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', key.bytes, iv)
    const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()])
    return [VERSION, key.id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.')
  }

  /** The secret `sealed` holds; throws when no key of this box sealed it or it was altered. */
  open(sealed: string) {
    const [version, keyId, iv, tag, ciphertext] = sealed.split('.')
    const key = this.keys.find(({ id }) => id === keyId)
    if (version !== VERSION || !key || ciphertext === undefined)
      throw new Error(`a webhook secret sealed under a key this service does not have (${keyId})`)
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, Buffer.from(iv, 'base64url'))
    decipher.setAuthTag(Buffer.from(tag, 'base64url'))
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8')
  }
}
