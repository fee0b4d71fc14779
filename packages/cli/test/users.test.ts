import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listen, type ServiceApplication } from '@marketmesh/shared'
import { createApp } from '@marketmesh/user-service'
import { cleanUp, isolatedEnvironment, waitFor } from '@marketmesh/test-support'
import { cli as runCli } from './support/cli'

// Runs the built CLI against a database of its own, which a user-service in this process serves,
// to log the new admins in.
const env = isolatedEnvironment('cli_users')
const cli = (args: string[], input = '') => runCli(args, env, input)

let app: ServiceApplication
let server: Server
let url: string

beforeAll(async () => {
  app = createApp({ postgresql: { connection: env.DATABASE_URL }, amqp: { prefix: env.AMQP_PREFIX } })
  server = await listen(app, 0)
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await app.teardown()
  server.close()
  await cleanUp({ prefix: env.AMQP_PREFIX, databases: [env.DATABASE_URL] })
})

const login = async (email: string, password: string) => {
  const response = await fetch(`${url}/authentication`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ strategy: 'local', email, password })
  })
  // The account it logged in to; none when refused.
  return { status: response.status, body: (await response.json()) as { user?: unknown } }
}

describe('marketmesh users create-admin', () => {
  it("creates an admin through user-service's own code: normalised email, hashed password, user.registered event", async () => {
    const { code, stdout, stderr } = await cli([
      'users',
      'create-admin',
      '--email',
      ' Root@Example.COM ',
      '--name',
      'Root',
      '--password',
      'a long admin password'
    ])
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const id = /^created admin root@example\.com \(([0-9a-f-]{36})\)\n$/.exec(stdout)?.[1]
    expect(id).toBeDefined()

    const session = await login('root@example.com', 'a long admin password')
    expect(session.status).toBe(201)
    expect(session.body.user).toMatchObject({ id, role: 'admin', name: 'Root' })
    const [stored] = await app.get('postgresqlClient')('users').where({ id })
    expect(stored.password).toMatch(/^\$argon2id\$/)

    // Written to the outbox by the CLI, published by the running service's relay.
    const [event] = await app.get('postgresqlClient')('outbox').where({ type: 'user.registered' })
    expect(event.envelope.data).toEqual({ userId: id, version: 1, email: 'root@example.com', name: 'Root', role: 'admin', status: 'active' })
    await waitFor(async () => (await app.get('postgresqlClient')('outbox').whereNull('sent_at')).length === 0, { what: 'the event to be published' })
  })

  it('reads the password from stdin when it is not given', async () => {
    const { code } = await cli(['users', 'create-admin', '--email', 'piped@example.com', '--name', 'Piped'], 'piped in password\n')
    expect(code).toBe(0)
    expect((await login('piped@example.com', 'piped in password')).body.user).toMatchObject({ role: 'admin' })
  })

  it('refuses a taken email and a short password, naming the problem, and exits 1', async () => {
    const taken = await cli(['users', 'create-admin', '--email', 'ROOT@example.com', '--name', 'Again', '--password', 'another long password'])
    expect(taken.code).toBe(1)
    expect(taken.stderr).toBe('marketmesh: could not create the admin: A user with this email already exists\n')

    const short = await cli(['users', 'create-admin', '--email', 'short@example.com', '--name', 'Short', '--password', 'short'])
    expect(short.code).toBe(1)
    expect(short.stderr).toMatch(/password: must NOT have fewer than 8 characters/)
    expect(await app.get('postgresqlClient')('users').where({ email: 'short@example.com' })).toEqual([])
  })
})
