import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CLI } from './support/cli'

const SERVICE_KIT = ['@feathersjs/feathers', '@feathersjs/koa', '@feathersjs/knex', 'knex', 'koa']

// Preloaded into the CLI's process: as it exits, it reports which of the service kit's packages were loaded.
const reporter = join(mkdtempSync(join(tmpdir(), 'mm-cli-')), 'report-loaded.js')
writeFileSync(
  reporter,
  `const kit = ${JSON.stringify(SERVICE_KIT)}
process.on('exit', () => {
  const loaded = new Set(Object.keys(require.cache).map((file) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(file)?.[1]))
  process.stderr.write('kit loaded: ' + JSON.stringify(kit.filter((name) => loaded.has(name))) + '\\n')
})
`
)

const kitLoadedBy = (args: string[]) => {
  const { stdout, stderr, status } = spawnSync(process.execPath, ['--require', reporter, CLI, ...args], { encoding: 'utf8' })
  return { status, stdout, kit: JSON.parse(/kit loaded: (.*)/.exec(stderr)![1]) as string[] }
}

describe('marketmesh start-up', () => {
  it('loads none of the service kit for the operator commands (it would take most of their start)', () => {
    for (const args of [['--help'], ['dlq', 'list', '--help'], ['status', '--help'], ['printer', '--help']]) {
      const { status, stdout, kit } = kitLoadedBy(args)
      expect(status).toBe(0)
      expect(stdout).toContain('Usage: marketmesh')
      expect(kit).toEqual([])
    }
  })

  it('loads the kit for a command that needs it', () => {
    const { status, stdout, kit } = kitLoadedBy(['keys', 'generate'])
    expect(status).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ kty: 'OKP', crv: 'Ed25519' })
    expect(kit).toContain('@feathersjs/feathers')
  })
})
