import type { Server } from 'node:http'
import type { AuthenticationConfiguration, AuthenticationService } from '@feathersjs/authentication'
import type { HookContext as FeathersHookContext } from '@feathersjs/feathers'
import type { Application as KoaApplication } from '@feathersjs/koa'
import type { Registry } from 'prom-client'
import type { Knex, MigrationList } from './database'
import type { EventBus } from '@marketmesh/events'
import type { Logger } from './logger'
import type { BaseSettings } from './settings'

/** Who is calling: taken from the access token (or a device credential). */
export interface Principal {
  id: string
  role: 'buyer' | 'seller' | 'admin' | 'device'
  /** The shop a seller owns or a device belongs to. */
  sellerId?: string
  /** Whether the user had verified their email when the access token was signed (claim `email_verified`). */
  emailVerified?: boolean
}

/** The settings and what the kit puts on every app; a service adds its own settings by declaration merging. */
export interface ServiceConfiguration extends BaseSettings {
  logger: Logger
  postgresqlClient: Knex
  /** The event backbone's migrations and the service's own. */
  migrations: MigrationList
  events: EventBus
  metrics: Registry
  /** The server of the ops port (`GET /metrics`), once the app listens. */
  opsServer?: Server
  /** The paths answered by Koa middleware rather than a Feathers service (see `answersPath`). */
  httpPaths?: string[]
  /** The paths whose GET responses stay open, served without holding Koa's context (see `keepsResponsesOpen`). */
  openResponsePaths?: string[]
  /** Feathers' authentication settings, without its HMAC `secret`: access tokens are signed and verified with keys. */
  authentication?: Omit<AuthenticationConfiguration, 'secret'>
}

/**
 * The services an app registers. Each service package adds its own by declaration merging:
 *   declare module '@marketmesh/shared' { interface ServiceTypes { products: ProductService } }
 */
export interface ServiceTypes {
  authentication: AuthenticationService
}

export type ServiceApplication = KoaApplication<ServiceTypes, ServiceConfiguration>

export type ServiceHookContext<S = any> = FeathersHookContext<ServiceApplication, S>

declare module '@feathersjs/feathers' {
  interface Params {
    /** The request id of the HTTP call (X-Request-Id): on its log lines and the events it causes. */
    requestId?: string
    principal?: Principal
  }
}

declare module 'koa' {
  interface DefaultState {
    requestId: string
  }
}
