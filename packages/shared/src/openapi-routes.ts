import { Type } from '@feathersjs/typebox'
import { accessTokenCheckSchema } from './authentication'
import type { RouteDoc, ServiceDoc } from './openapi'
import { noQuerySchema } from './query'

const service = Type.String({ examples: ['catalog-service'] })

/** What `POST /authentication` answers: the access token, how it was checked, and who it names. */
export const authenticationResultSchema = Type.Object(
  {
    accessToken: Type.String(),
    /** user-service's logins only: the refresh token of the session (rotated on each use). */
    refreshToken: Type.Optional(Type.String()),
    authentication: Type.Object({ strategy: Type.String(), payload: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
    /** user-service: the user who logged in. */
    user: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    /** catalog-, order- and notify-service: the caller the token names. */
    principal: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
  },
  { $id: 'AuthenticationResult' }
)

/** catalog-, order- and notify-service's `/authentication` (statelessAuthentication): a token checked, never a new one. */
export const tokenCheckDoc: ServiceDoc = {
  tag: 'authentication',
  description: 'Checks an access token of user-service (what Feathers’ authentication client calls in reAuthenticate() and logout())',
  result: authenticationResultSchema,
  data: accessTokenCheckSchema,
  query: noQuerySchema,
  methods: {
    create: { summary: 'Check an access token', access: 'public', errors: [401] },
    remove: { summary: 'Check the access token of the Authorization header', withoutId: true }
  }
}

/**
 * The routes the kit gives every service: `/health`, `/ready`, `/openapi.json`, and `/metrics` on the
 * ops port (`opsServer`, e.g. `http://localhost:4032`).
 */
export const kitRoutes = (opsServer: string): RouteDoc[] => [
  {
    path: '/health',
    method: 'get',
    tag: 'operations',
    summary: 'The process lives',
    access: 'public',
    answers: { 200: { description: 'Alive', schema: Type.Object({ status: Type.Literal('ok'), service }) } }
  },
  {
    path: '/ready',
    method: 'get',
    tag: 'operations',
    summary: 'Its database and RabbitMQ answer',
    access: 'public',
    answers: Object.fromEntries(
      [
        [200, 'ready'],
        [503, 'unavailable']
      ].map(([status, word]) => [
        status,
        {
          description: word === 'ready' ? 'Ready' : 'A dependency does not answer; checks says which',
          schema: Type.Object({
            status: Type.Literal(word as string),
            service,
            checks: Type.Object({ database: Type.String(), broker: Type.String() })
          })
        }
      ])
    )
  },
  {
    path: '/openapi.json',
    method: 'get',
    tag: 'operations',
    summary: 'This document',
    access: 'public',
    answers: { 200: { description: 'The service’s OpenAPI 3.1 document', schema: Type.Object({ openapi: Type.String() }) } }
  },
  {
    path: '/metrics',
    method: 'get',
    tag: 'operations',
    summary: 'Prometheus metrics (ops port only)',
    description: 'Served on the ops port (OPS_PORT, by default the port + 1000) and nowhere else.',
    access: 'public',
    servers: [{ url: opsServer, description: 'the ops port' }],
    answers: { 200: { description: 'Prometheus text exposition', contentType: 'text/plain', schema: Type.String() } },
    errors: [404]
  }
]
