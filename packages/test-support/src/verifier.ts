import type { AddressInfo } from 'node:net'
import type { Params } from '@feathersjs/feathers'
import { authenticated, createServiceApp, listen, serviceSettingsSchema, type Principal } from '@marketmesh/shared'
import { cleanUp, isolatedSettings } from '.'

/** Answers who the caller is. */
export class WhoAmI {
  async find(params: Params): Promise<Principal | undefined> {
    return params.principal
  }
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    whoami: WhoAmI
  }
}

/**
 * A service of the kit that verifies access tokens like every service but user-service does, with
 * the given `jwt` settings (e.g. `{ jwksUrl }`), and answers GET /whoami with the caller's principal.
 */
export const startVerifier = async (jwt: Record<string, unknown> = {}) => {
  const settings = isolatedSettings('verifier')
  const app = createServiceApp({
    name: 'verifier',
    root: __dirname,
    settingsSchema: serviceSettingsSchema({}),
    overrides: { ...settings, port: 0, logLevel: 'silent', jwt },
    migrations: {},
    services: (app) => {
      app.use('whoami', new WhoAmI(), { methods: ['find'] })
      app.service('whoami').hooks({ before: { all: [authenticated()] } })
    }
  })
  const server = await listen(app, 0)
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    whoami: (token?: string) => fetch(`${url}/whoami`, { headers: token ? { Authorization: `Bearer ${token}` } : {} }),
    stop: async () => {
      server.close()
      await app.teardown()
      await cleanUp({ prefix: settings.amqp.prefix, databases: [settings.postgresql.connection] })
    }
  }
}

export type Verifier = Awaited<ReturnType<typeof startVerifier>>
