import authenticationClient, { type AuthenticationClientOptions } from '@feathersjs/authentication-client'
import { feathers, type Application, type TransportConnection } from '@feathersjs/feathers'
import { deviceClient } from './services/devices/devices.shared'
import { userClient } from './services/users/users.shared'

export type { Device, DeviceData, DeviceQuery } from './services/devices/devices.shared'
export type { User, UserData, UserPatch, UserQuery } from './services/users/users.shared'

export interface Configuration {
  connection: TransportConnection<ServiceTypes>
}

/** Filled in by each service's `*.shared.ts`. */
export interface ServiceTypes {}

export type ClientApplication = Application<ServiceTypes, Configuration>

/**
 * The typed client of user-service for web and mobile apps, e.g. with the REST transport:
 *   const client = createClient(rest('https://api.example.com').fetch(fetch))
 *   await client.authenticate({ strategy: 'local', email, password })
 * It imports only types from the server code.
 */
export const createClient = (connection: TransportConnection<ServiceTypes>, authenticationOptions: Partial<AuthenticationClientOptions> = {}) => {
  const client: ClientApplication = feathers()
  client.configure(connection)
  client.configure(authenticationClient(authenticationOptions))
  client.set('connection', connection)
  client.configure(userClient)
  client.configure(deviceClient)
  return client
}
