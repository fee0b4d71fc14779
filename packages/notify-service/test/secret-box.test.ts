import { describe, expect, it } from 'vitest'
import { SecretBox } from '../src/webhooks/secret-box'

const oldKey = 'an old key of at least thirty-two characters'
const newKey = 'a new key of at least thirty-two characters!'
const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`

describe('SecretBox', () => {
  it('seals a secret so that the text stored holds nothing of it, and opens it again', () => {
    const box = new SecretBox([oldKey])
    const sealed = box.seal(secret)
    expect(sealed).toMatch(/^v1\.[\w-]{8}\.[\w-]+\.[\w-]+\.[\w-]+$/)
    expect(sealed).not.toContain(secret.slice(6, 20))
    expect(box.seal(secret)).not.toBe(sealed) // a fresh IV each time
    expect(box.open(sealed)).toBe(secret)
  })

  it('opens what an older key sealed once a new key is put first, and seals under the new one', () => {
    const sealedBefore = new SecretBox([oldKey]).seal(secret)
    const rotated = new SecretBox([newKey, oldKey])
    expect(rotated.open(sealedBefore)).toBe(secret)
    expect(new SecretBox([newKey]).open(rotated.seal(secret))).toBe(secret)
  })

  it('refuses what a key it lacks sealed, and what was altered', () => {
    const sealed = new SecretBox([oldKey]).seal(secret)
    expect(() => new SecretBox([newKey]).open(sealed)).toThrow(/a key this service does not have/)
    const parts = sealed.split('.')
    parts[4] = Buffer.from('whsec_forged').toString('base64url')
    expect(() => new SecretBox([oldKey]).open(parts.join('.'))).toThrow()
    expect(() => new SecretBox([oldKey]).open(secret)).toThrow(/a key this service does not have/)
  })
})
