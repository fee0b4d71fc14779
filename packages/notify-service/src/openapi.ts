import { Type } from '@feathersjs/typebox'
import { kitRoutes, noQuerySchema, tokenCheckDoc, type ApiDescription } from '@marketmesh/shared'
import { confirmationSchema, jobRequestSchema, pollSchema } from './cloudprnt/cloudprnt.schema'
import { CLOUDPRNT_PATH, MEDIA_TYPES } from './cloudprnt/route'
import { LIVE_PATH } from './live/live'
import { announcementDataSchema, announcementQuerySchema, announcementSchema } from './services/announcements/announcements.schema'
import {
  messageDataSchema,
  messagePatchSchema,
  messageQuerySchema,
  messageSchema
} from './services/conversation-messages/conversation-messages.schema'
import {
  conversationDataSchema,
  conversationPatchSchema,
  conversationQuerySchema,
  conversationSchema
} from './services/conversations/conversations.schema'
import { notificationQuerySchema, notificationSchema } from './services/notifications/notifications.schema'
import { printJobDataSchema, printJobPatchSchema, printJobQuerySchema, printJobSchema } from './services/print-jobs/print-jobs.schema'
import { printerQuerySchema, printerSchema } from './services/printers/printers.schema'
import {
  webhookActionDataSchema,
  webhookDeliveryQuerySchema,
  webhookDeliveryScheduledSchema,
  webhookDeliverySchema,
  webhookEndpointDataSchema,
  webhookEndpointPatchSchema,
  webhookEndpointQuerySchema,
  webhookEndpointSchema,
  webhookEndpointWithSecretSchema
} from './services/webhook-endpoints/webhook-endpoints.schema'
import { STREAM_PATH } from './stream/route'

const Uuid = Type.String({ format: 'uuid' })
const chatters = ['buyer', 'seller', 'admin']
const webhookOwners = ['seller', 'admin']
const webhookAction = (summary: string, errors: number[] = []) => ({
  tag: 'webhook-endpoints',
  result: webhookDeliveryScheduledSchema,
  data: webhookActionDataSchema,
  query: noQuerySchema,
  roles: webhookOwners,
  errors,
  methods: { create: { summary } }
})

/** notify-service's API, as GET /openapi.json serves it (docs/openapi.md); its SSE messages are in docs/asyncapi.yaml. */
export const api: ApiDescription = {
  title: 'notify-service',
  description:
    'Notifications and the SSE stream, announcements, print jobs and printers (SSE and Star CloudPRNT), buyer–seller conversations, webhook endpoints and their deliveries, the live orders page.',
  server: 'http://localhost:3034',
  services: {
    authentication: tokenCheckDoc,
    notifications: {
      result: notificationSchema,
      query: notificationQuerySchema,
      access: 'userOrDevice',
      methods: { find: { summary: 'One’s notifications, newest first' } }
    },
    announcements: {
      result: announcementSchema,
      data: announcementDataSchema,
      query: announcementQuerySchema,
      access: 'userOrDevice',
      methods: { create: { summary: 'Announce to every open stream (admins)', access: 'user', roles: ['admin'] } }
    },
    'print-jobs': {
      result: printJobSchema,
      data: printJobDataSchema,
      patch: printJobPatchSchema,
      query: printJobQuerySchema,
      access: 'userOrDevice',
      roles: ['seller', 'device', 'admin'],
      errors: [409],
      methods: {
        create: { summary: 'Print an order’s receipt again', roles: ['seller'], errors: [404, 409] },
        patch: { summary: 'A device’s word on its job: printing, printed or failed (409: another printer has it)', roles: ['device'] }
      }
    },
    printers: {
      result: printerSchema,
      query: printerQuerySchema,
      access: 'userOrDevice',
      roles: ['seller'],
      methods: { find: { summary: 'The shop’s printers and whether each is online' } }
    },
    conversations: {
      result: conversationSchema,
      data: conversationDataSchema,
      patch: conversationPatchSchema,
      query: conversationQuerySchema,
      roles: chatters,
      errors: [409, 429],
      methods: { create: { summary: 'Ask the seller about an order or a product', roles: ['buyer'], errors: [404, 409, 429] } }
    },
    'conversations/:conversationId/messages': {
      tag: 'conversations',
      result: messageSchema,
      data: messageDataSchema,
      patch: messagePatchSchema,
      query: messageQuerySchema,
      roles: chatters,
      errors: [409, 429]
    },
    'webhook-endpoints': {
      result: webhookEndpointSchema,
      data: webhookEndpointDataSchema,
      patch: webhookEndpointPatchSchema,
      query: webhookEndpointQuerySchema,
      roles: webhookOwners,
      unpaginated: true,
      errors: [409],
      methods: {
        create: { summary: 'Register an endpoint: the answer has its whsec_ secret, shown this once', result: webhookEndpointWithSecretSchema }
      }
    },
    'webhook-endpoints/:endpointId/rotate-secret': {
      ...webhookAction('A new secret, shown once; the old one signs too for 24 hours'),
      result: webhookEndpointWithSecretSchema
    },
    'webhook-endpoints/:endpointId/test': webhookAction('Send a ping delivery (429 while three are on their way)', [429]),
    'webhook-endpoints/:endpointId/deliveries/:deliveryId/retry': webhookAction('Send a failed delivery again now (409 for any other)', [409]),
    'webhook-endpoints/:endpointId/deliveries': {
      tag: 'webhook-endpoints',
      result: webhookDeliverySchema,
      query: webhookDeliveryQuerySchema,
      roles: webhookOwners,
      methods: { find: { summary: 'The endpoint’s delivery log, newest first' } }
    }
  },
  routes: [
    ...kitRoutes('http://localhost:4034'),
    {
      path: STREAM_PATH,
      method: 'get',
      tag: 'stream',
      summary: 'Server-Sent Events: one’s notifications, print jobs and announcements, live',
      description:
        'The events and their data are in docs/asyncapi.yaml (channel stream). Replays what the caller missed after Last-Event-ID (or ?lastEventId=). A browser’s EventSource sends the token as ?token=.',
      access: 'userOrDevice',
      query: Type.Object({
        token: Type.Optional(Type.String({ description: 'The access or device token, for clients that cannot send headers' })),
        lastEventId: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' }))
      }),
      headers: { 'Last-Event-ID': { description: 'The id of the last event received', schema: Type.String({ pattern: '^[0-9]{1,15}$' }) } },
      answers: {
        200: {
          description: 'The event stream (text/event-stream), open until the token expires',
          contentType: 'text/event-stream',
          schema: Type.String()
        }
      },
      errors: [400, 429]
    },
    {
      path: CLOUDPRNT_PATH,
      method: 'post',
      tag: 'cloudprnt',
      summary: 'A Star CloudPRNT printer’s poll; claims the shop’s oldest queued job when it can print',
      access: 'printer',
      body: { schema: pollSchema },
      answers: {
        200: {
          description: 'Whether a job is ready, and its token',
          schema: Type.Object({
            jobReady: Type.Boolean(),
            mediaTypes: Type.Optional(Type.Array(Type.String())),
            jobToken: Type.Optional(Uuid)
          })
        }
      },
      errors: [400]
    },
    {
      path: CLOUDPRNT_PATH,
      method: 'get',
      tag: 'cloudprnt',
      summary: 'The claimed job, rendered in the requested media type',
      access: 'printer',
      query: jobRequestSchema,
      answers: Object.fromEntries([
        [
          200,
          {
            description: `The receipt (${MEDIA_TYPES.join(' or ')})`,
            contentType: MEDIA_TYPES[0],
            schema: Type.String({ contentEncoding: 'binary' })
          }
        ]
      ]),
      errors: [400, 404, 415]
    },
    {
      path: CLOUDPRNT_PATH,
      method: 'delete',
      tag: 'cloudprnt',
      summary: 'The printer’s word on the job: OK printed, anything else failed',
      access: 'printer',
      query: confirmationSchema,
      answers: { 200: { description: 'The job’s status now', schema: Type.Object({ jobId: Uuid, status: Type.String() }) } },
      errors: [400, 404, 409]
    },
    {
      path: LIVE_PATH,
      method: 'get',
      tag: 'live',
      summary: 'The sellers’ live orders page (HTML)',
      access: 'public',
      answers: { 200: { description: 'The page', contentType: 'text/html', schema: Type.String() } }
    },
    {
      path: `${LIVE_PATH}/config.json`,
      method: 'get',
      tag: 'live',
      summary: 'Where the live orders page signs in and reads earnings',
      access: 'public',
      answers: { 200: { description: 'The page’s settings', schema: Type.Object({ userServiceUrl: Type.String(), orderServiceUrl: Type.String() }) } }
    },
    {
      path: `${LIVE_PATH}/{file}`,
      method: 'get',
      tag: 'live',
      summary: 'The live orders page’s scripts and styles',
      access: 'public',
      pathParameters: { file: Type.String({ examples: ['app.js'] }) },
      answers: { 200: { description: 'A static file', contentType: '*/*', schema: Type.String() } },
      errors: [404]
    }
  ]
}
