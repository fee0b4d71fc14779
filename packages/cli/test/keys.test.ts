import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { dataValidator, DEVELOPMENT_PUBLIC_KEY, privateJwkSchema } from '@marketmesh/shared'
import { ROOT } from '@marketmesh/test-support'
import { accessToken } from '@marketmesh/test-support/tokens'
import { startVerifier } from '@marketmesh/test-support/verifier'
import { cli as runCli } from './support/cli'

const validPrivateKey = dataValidator.compile(privateJwkSchema)

const cli = (args: string[], input = '') => runCli(args, {}, input)

describe('marketmesh keys', () => {
  it('runs as docs/configuration.md writes it, `npx marketmesh keys generate` in the repository (the bin npm ci links)', async () => {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 'marketmesh', 'keys', 'generate'], { cwd: ROOT })
    expect(validPrivateKey(JSON.parse(stdout))).toBe(true)
  })

  it('generates private keys named by their thumbprint, whose public set lets a service verify their tokens', async () => {
    const [first, second] = await Promise.all([cli(['keys', 'generate']), cli(['keys', 'generate'])])
    const keys = [first, second].map(({ code, stdout }) => {
      expect(code).toBe(0)
      return JSON.parse(stdout)
    })
    for (const key of keys) {
      expect(validPrivateKey(key)).toBe(true)
      expect(key).toMatchObject({ alg: 'EdDSA', use: 'sig' })
      // An RFC 7638 thumbprint: SHA-256, base64url.
      expect(key.kid).toMatch(/^[A-Za-z0-9_-]{43}$/)
    }
    expect(keys[0].kid).not.toBe(keys[1].kid)

    const published = await cli(['keys', 'public'], `${first.stdout}\n${second.stdout}`)
    expect(published.code).toBe(0)
    expect(published.stdout).not.toMatch(/"d"/)
    const verifier = await startVerifier({ publicKeys: JSON.parse(published.stdout) })
    try {
      for (const key of keys) expect((await verifier.whoami(accessToken({ id: 'u', role: 'buyer' }, { key }))).status).toBe(200)
    } finally {
      await verifier.stop()
    }
  })

  it('names the line that is not a key', async () => {
    const rsa = { ...DEVELOPMENT_PUBLIC_KEY, kty: 'RSA' }
    const { code, stderr } = await cli(['keys', 'public'], `${JSON.stringify(DEVELOPMENT_PUBLIC_KEY)}\n\n${JSON.stringify(rsa)}\n`)
    expect(code).toBe(1)
    expect(stderr).toBe('marketmesh: line 3 is not an Ed25519 JWK with a kid: kty must be equal to constant\n')
  })
})
