import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { meshEnvironment, startMesh } from '@marketmesh/test-support/mesh'

const run = promisify(execFile)
const PACKAGE = join(__dirname, '..')
const TOKEN_LIFETIME_S = 4

// Server packages and their type definitions: none of them may come with the client.
const SERVER_PACKAGES = [
  'knex',
  'pg',
  'amqplib',
  'amqp-connection-manager',
  'koa',
  '@feathersjs/koa',
  '@feathersjs/knex',
  '@marketmesh/shared',
  '@types/koa',
  '@types/pg'
]

describe('the packed @marketmesh/client in an empty project', () => {
  let project: string
  let mesh: Awaited<ReturnType<typeof startMesh>>

  beforeAll(async () => {
    project = mkdtempSync(join(tmpdir(), 'mmtest-client-'))
    const [started, packed] = await Promise.all([
      // Short tokens, so that the app sees them expire.
      startMesh(
        meshEnvironment('client', {
          envOf: { user: { JWT_EXPIRES_IN: `${TOKEN_LIFETIME_S}s` } }
        })
      ),
      run('npm', ['pack', '--json', '--pack-destination', project], { cwd: PACKAGE })
    ])
    mesh = started
    const [{ filename }] = JSON.parse(packed.stdout) as Array<{ filename: string }>
    const typescript = JSON.parse(readFileSync(require.resolve('typescript/package.json'), 'utf8')).version
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'an-app', private: true, type: 'module', dependencies: { '@marketmesh/client': `file:./${filename}`, typescript } })
    )
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'nodenext', lib: ['ES2023', 'DOM'], types: [], strict: true, skipLibCheck: false },
        files: ['consumer.ts', 'require.cts']
      })
    )
    for (const file of ['consumer.ts', 'require.cts']) copyFileSync(join(__dirname, 'consumer', file), join(project, file))
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: project })
  }, 240_000)

  afterAll(async () => {
    await mesh?.stop()
    if (project) rmSync(project, { recursive: true, force: true })
    // Deleting the broker's quorum queues takes a while on a busy machine.
  }, 300_000)

  it('installs the client with no server package', () => {
    expect(existsSync(join(project, 'node_modules', '@marketmesh', 'client', 'lib', 'index.d.ts'))).toBe(true)
    expect(SERVER_PACKAGES.filter((name) => existsSync(join(project, 'node_modules', name)))).toEqual([])
  })

  it('type-checks an app against its type definitions, which refuse what the servers refuse', async () => {
    // Fails on any type error, and on a @ts-expect-error that expects none (ProductPatch.updatedAt, server-only params).
    const { stdout } = await run(join(project, 'node_modules', '.bin', 'tsc'), ['-p', project]).catch((error) => {
      throw new Error(`tsc failed:\n${error.stdout}${error.stderr}`)
    })
    expect(stdout).toBe('')
    expect(existsSync(join(project, 'consumer.js'))).toBe(true)
  }, 180_000)

  it('is the same API by require() (the CommonJS build) and by import (the ES module build)', async () => {
    const node = async (...args: string[]) => (await run(process.execPath, args, { cwd: project })).stdout.trim()
    // require.cjs: require.cts as the type-check above compiled it.
    const required = JSON.parse(await node(join(project, 'require.cjs')))
    const imported = JSON.parse(
      await node(
        '--input-type=module',
        '--eval',
        `import * as marketmesh from '@marketmesh/client'
         const mm = marketmesh.createMarketmeshClient({ baseUrl: 'http://localhost:3030' })
         console.log(JSON.stringify({ exports: Object.keys(marketmesh).sort(), client: Object.keys(mm).sort() }))`
      )
    )
    expect(required.exports).toEqual(['createMarketmeshClient', 'paths'])
    expect(required.client).toContain('stream')
    expect(imported).toEqual(required)
    // Each from its own build, by the `exports` conditions.
    expect(await node('--eval', "console.log(require.resolve('@marketmesh/client'))")).toMatch(/client[\\/]lib[\\/]index\.js$/)
    expect(await node('--input-type=module', '--eval', "console.log(import.meta.resolve('@marketmesh/client'))")).toMatch(/client\/esm\/index\.js$/)
  })

  it('registers, logs in, lists products, renews the token once after expiry and after 401s, and logs out', async () => {
    const { stdout } = await run(process.execPath, [join(project, 'consumer.js')], {
      cwd: project,
      env: { ...process.env, MARKETMESH_URLS: JSON.stringify(mesh.urls), TOKEN_LIFETIME_MS: String(TOKEN_LIFETIME_S * 1000) },
      timeout: 180_000
    })
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!)
    expect(result.stockAfterRestock).toBe(15)
    expect(result.listedTitles).toEqual([result.productTitle])
    expect(result.loggedInAs).toMatch(/^buyer-/)
    // Three calls to three services after the expiry: one refresh before them, none refused.
    expect(result.afterExpiry).toEqual({ refreshes: 1, refused: 0 })
    // Three calls refused at once: one refresh between them, and each went through after it.
    expect(result.afterRefusal.refreshes).toBe(2)
    expect(result.afterRefusal.refused).toBeGreaterThanOrEqual(1)
    expect(result.meAfterRefusal).toBe(true)
    expect(result.refreshTokenRotated).toBe(true)
    expect(result.signedInAfterLogout).toBe(false)
    expect(result.refreshAfterLogoutStatus).toBe(401)
  }, 240_000)
})
