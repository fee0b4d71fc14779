import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMarketmeshClient } from '@marketmesh/client'
import { deepMerge, listen } from '@marketmesh/shared'
import { createApp } from '../src/app'
import { cleanUp, isolatedSettings } from '@marketmesh/test-support'

import { httpClient, type Reply } from '@marketmesh/test-support/http'

export { httpClient, type Reply }

/**
 * A JSON POST from another loopback address (`127.0.0.2`, ...), which the service sees as another
 * client IP: a stranger's requests, in tests of the limits per address.
 */
export const postFrom = (url: string, from: string, path: string, body: unknown) =>
  new Promise<Reply>((resolve, reject) => {
    const sent = request(`${url}${path}`, { method: 'POST', localAddress: from, headers: { 'Content-Type': 'application/json' } }, (response) => {
      let text = ''
      response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
      response.on('end', () => {
        const headers = new Headers(Object.entries(response.headers).map(([name, value]) => [name, String(value)] as [string, string]))
        resolve({ status: response.statusCode!, headers, body: text ? JSON.parse(text) : undefined })
      })
    })
    sent.on('error', reject).end(JSON.stringify(body))
  })

/** user-service in this process, on its own database and broker prefix, called over HTTP. */
export const startUserService = async (label: string, extra: Record<string, unknown> = {}) => {
  const settings = deepMerge(isolatedSettings(label), extra)
  const app = createApp(settings)
  const server = await listen(app, 0)
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const http = httpClient(url)
  let registered = 0

  /** Registers a user (a seller gets a shop) and logs them in. */
  const signUp = async (role: 'buyer' | 'seller', overrides: Record<string, unknown> = {}) => {
    const email = `${role}${++registered}@example.com`
    const password = 'correct horse battery'
    const user = await http('POST', '/users', {
      body: { email, password, name: `A ${role}`, role, ...(role === 'seller' ? { shopName: `Shop ${registered}` } : {}), ...overrides }
    })
    if (user.status !== 201) throw new Error(`registration failed: ${JSON.stringify(user.body)}`)
    const login = await http('POST', '/authentication', { body: { strategy: 'local', email, password } })
    return { user: user.body, email, password, accessToken: login.body.accessToken as string, refreshToken: login.body.refreshToken as string }
  }

  /** An admin, created the way the CLI does: an internal call. */
  const signUpAdmin = async () => {
    const email = `admin${++registered}@example.com`
    const password = 'correct horse battery'
    await app.service('users').create({ email, password, name: 'An admin', role: 'admin' })
    const login = await http('POST', '/authentication', { body: { strategy: 'local', email, password } })
    return { user: login.body.user, accessToken: login.body.accessToken as string }
  }

  return {
    app,
    url,
    settings,
    http,
    /** A POST from another loopback address (see `postFrom`). */
    postFrom: (from: string, path: string, body: unknown) => postFrom(url, from, path, body),
    signUp,
    signUpAdmin,
    /** A fresh @marketmesh/client, as a web or mobile app uses it. */
    client: () => createMarketmeshClient({ baseUrl: url }),
    stop: async (databases: string[] = []) => {
      await app.teardown()
      server.close()
      await cleanUp({ prefix: settings.amqp.prefix, databases: [settings.postgresql.connection, ...databases] })
    }
  }
}

export type UserServiceUnderTest = Awaited<ReturnType<typeof startUserService>>

/** The claims of a JWT, unverified (the tests check what user-service put in). */
export const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'))
