import { createInterface } from 'node:readline'
import type { Command } from 'commander'
import type { PublicJwk } from '@marketmesh/shared'

// The service kit, loaded by the commands that use it: the others start without it.
const kit = () => import('@marketmesh/shared')

/** One Ed25519 JWK a line (private or public), as `generate` prints them. */
const readJwks = async (): Promise<PublicJwk[]> => {
  const { dataValidator, fieldName, publicJwkSchema } = await kit()
  const validJwk = dataValidator.compile<PublicJwk>(publicJwkSchema)
  const keys: PublicJwk[] = []
  let number = 0
  for await (const line of createInterface({ input: process.stdin })) {
    number += 1
    if (line.trim() === '') continue
    let jwk: unknown
    try {
      jwk = JSON.parse(line)
    } catch {
      throw new Error(`line ${number} is not JSON`)
    }
    if (!validJwk(jwk)) {
      const [problem] = validJwk.errors!
      throw new Error(`line ${number} is not an Ed25519 JWK with a kid: ${fieldName(problem.instancePath) || 'the key'} ${problem.message}`)
    }
    keys.push(jwk)
  }
  return keys
}

export const registerKeysCommands = (program: Command) => {
  const keys = program.command('keys').description('Make and publish the Ed25519 keys access tokens are signed with')

  keys
    .command('generate')
    .description("Print a new private key (a JWK whose kid is its thumbprint) for user-service's JWT_PRIVATE_KEY")
    .action(async () => {
      const { generateSigningKey } = await kit()
      process.stdout.write(`${JSON.stringify(await generateSigningKey())}\n`)
    })

  keys
    .command('public')
    .description('Read keys from stdin, one JWK a line, and print the JWK Set of their public parts, for JWT_PUBLIC_KEYS')
    .action(async () => {
      const { publicPartOf } = await kit()
      const publicKeys = (await readJwks()).map(publicPartOf)
      if (publicKeys.length === 0) throw new Error('no key on stdin: pipe in one JWK a line, e.g. the output of `marketmesh keys generate`')
      process.stdout.write(`${JSON.stringify({ keys: publicKeys })}\n`)
    })
}
