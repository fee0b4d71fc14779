import type { Middleware } from '@feathersjs/koa'
import { hooks as schemaHooks } from '@feathersjs/schema'
import { noQueryValidator, rateLimitedHttp, rawBodyOf, type ServiceApplication } from '@marketmesh/shared'
import { PaymentWebhookService, type PaymentWebhookParams } from './payment-webhooks.class'
import { limitWebhooksPerIp } from './hooks'

export * from './payment-webhooks.class'

/** Where providers post their webhooks: no caller credentials, the provider's signature instead. */
export const PAYMENT_WEBHOOKS_PATH = '/payment-webhooks/'

/** Hands the service the body's bytes as they arrived (the app keeps them on this path: createServiceApp's rawBodyPaths). */
const keepRawBody: Middleware = async (ctx, next) => {
  const params: PaymentWebhookParams = { ...ctx.feathers, rawBody: rawBodyOf(ctx.request) }
  ctx.feathers = params
  await next()
}

export const paymentWebhook = (app: ServiceApplication) => {
  app.use('payment-webhooks/:provider', new PaymentWebhookService(app), {
    methods: ['create'],
    events: [],
    koa: { before: [rateLimitedHttp(), keepRawBody] }
  })
  app.service('payment-webhooks/:provider').hooks({
    // A query (there is none to give) is refused naming its field before anything is counted.
    around: { create: [schemaHooks.validateQuery(noQueryValidator), limitWebhooksPerIp] },
    after: {
      // A provider only needs a 2xx; 200, as providers document it.
      create: [(context) => void (context.http = { ...context.http, status: 200 })]
    }
  })
}

declare module '@marketmesh/shared' {
  interface ServiceTypes {
    'payment-webhooks/:provider': PaymentWebhookService
  }
}
