import { Type, type Static } from '@feathersjs/typebox'
import { baseEnvironment, durationSetting, serviceSettingsSchema } from '@marketmesh/shared'
import { RECEIPT_COLUMNS } from '@marketmesh/receipts'

export const settingsSchema = serviceSettingsSchema({
  /** Page sizes of `GET /notifications` (`$limit`): the default and the most a caller may ask for. */
  paginate: Type.Object({
    default: Type.Integer({ minimum: 1 }),
    max: Type.Integer({ minimum: 1 })
  }),
  /** How long notifications are kept for replay; a client resuming from before gets `resync`. */
  notificationRetention: durationSetting,
  stream: Type.Object({
    /** Comment heartbeats, so proxies and clients see a live connection (at most 15 s). */
    heartbeat: durationSetting,
    /** The reconnection delay a stream suggests (`retry`), plus a random part up to `retryJitter`. */
    retry: durationSetting,
    retryJitter: durationSetting,
    /** A client this many bytes behind is disconnected (it replays on reconnect). */
    maxBufferedBytes: Type.Integer({ minimum: 1024 }),
    /** The most streams one caller (a user, a device) may have open on an instance; one more gets 429. */
    maxPerCaller: Type.Integer({ minimum: 1 }),
    /** The most streams one client address may have open on an instance, whoever the callers. */
    maxPerAddress: Type.Integer({ minimum: 1 })
  }),
  live: Type.Object({
    /** Where the live orders page (`GET /live`) signs sellers in: user-service's public URL. */
    userServiceUrl: Type.String({ pattern: '^https?://.+' }),
    /** Where the live page reads the seller's earnings (`GET /ledger`): order-service's public URL. */
    orderServiceUrl: Type.String({ pattern: '^https?://.+' }),
    /** Where the live page reads the images of the products ordered: catalog-service's public URL (required in production). */
    catalogServiceUrl: Type.String({ pattern: '^https?://.+' }),
    /** catalog-service's `MEDIA_PUBLIC_URL` (a CDN), where its image URLs point; empty: catalog-service's own `/media`. */
    mediaUrl: Type.String({ pattern: '^(https?://.+)?$' })
  }),
  printing: Type.Object({
    /** A claimed job not confirmed (printed or failed) within this becomes `unconfirmed`, and is not sent again by itself. */
    confirmTimeout: durationSetting,
    /** A device seen within this (an open stream refreshes it, a CloudPRNT poll sets it) is shown online. */
    onlineWindow: durationSetting,
    /** Characters per line of the receipts CloudPRNT printers get (32 for 58 mm paper, 42 or 48 for 80 mm). */
    cloudprntColumns: Type.Union(RECEIPT_COLUMNS.map((columns) => Type.Literal(columns)))
  }),
  mail: Type.Object({
    /** `smtp://` or `smtps://`; empty: mails are written as files to `directory`. */
    smtpUrl: Type.String({ pattern: '^(smtps?://.+)?$' }),
    from: Type.String({ minLength: 3 }),
    /** Relative to the package folder unless absolute. */
    directory: Type.String({ minLength: 1 }),
    /** The web app's base URL, which the password reset and email verification links open. */
    appUrl: Type.String({ pattern: '^https?://.+' })
  }),
  webhooks: Type.Object({
    /** Endpoints may be http:// (development); false: https only (production). */
    allowHttp: Type.Boolean(),
    /** Endpoints may resolve to loopback, private, link-local and metadata addresses (development's local receivers). */
    allowPrivate: Type.Boolean(),
    /** A delivery not answered 2xx within this failed (the whole exchange: connect, headers, the capped body read). */
    timeout: durationSetting,
    /** Delay before each retry of a failed delivery, in ms; after the last one it is failed. */
    retryDelaysMs: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 0 }),
    /** An endpoint whose deliveries have failed for this long, with no success between, is disabled and its owner told. */
    disableAfter: durationSetting,
    /** Deliveries in flight on an instance, and of those to one endpoint: a slow endpoint takes at most its share. */
    concurrency: Type.Integer({ minimum: 1 }),
    perEndpointConcurrency: Type.Integer({ minimum: 1 }),
    /** Safety net only: a commit that schedules deliveries wakes its instance's sender. */
    pollInterval: durationSetting,
    /** Finished deliveries (and their attempts) are kept this long in the delivery log. */
    deliveryRetention: durationSetting,
    /** The most endpoints one seller or admin may have. */
    maxEndpointsPerOwner: Type.Integer({ minimum: 1 }),
    /** Keys the endpoints' signing secrets are encrypted with at rest: the first seals, any opens (rotation). */
    secretKeys: Type.Array(Type.String({ minLength: 32 }), { minItems: 1 })
  }),
  conversations: Type.Object({
    /** A party with no open stream is mailed new messages of a conversation at most once per this. */
    mailAfter: durationSetting
  })
})

export const environment: typeof baseEnvironment = {
  ...baseEnvironment,
  PAGINATE_DEFAULT: 'paginate.default',
  PAGINATE_MAX: 'paginate.max',
  NOTIFICATION_RETENTION: 'notificationRetention',
  STREAM_HEARTBEAT: 'stream.heartbeat',
  STREAM_RETRY: 'stream.retry',
  STREAM_RETRY_JITTER: 'stream.retryJitter',
  STREAM_MAX_BUFFERED_BYTES: 'stream.maxBufferedBytes',
  STREAM_LIMIT_PER_CALLER: 'stream.maxPerCaller',
  STREAM_LIMIT_PER_ADDRESS: 'stream.maxPerAddress',
  LIVE_USER_SERVICE_URL: 'live.userServiceUrl',
  LIVE_ORDER_SERVICE_URL: 'live.orderServiceUrl',
  LIVE_CATALOG_SERVICE_URL: 'live.catalogServiceUrl',
  LIVE_MEDIA_URL: 'live.mediaUrl',
  PRINT_CONFIRM_TIMEOUT: 'printing.confirmTimeout',
  PRINTER_ONLINE_WINDOW: 'printing.onlineWindow',
  CLOUDPRNT_COLUMNS: 'printing.cloudprntColumns',
  SMTP_URL: 'mail.smtpUrl',
  MAIL_FROM: 'mail.from',
  MAIL_DIRECTORY: 'mail.directory',
  APP_URL: 'mail.appUrl',
  WEBHOOKS_ALLOW_HTTP: 'webhooks.allowHttp',
  WEBHOOKS_ALLOW_PRIVATE: 'webhooks.allowPrivate',
  WEBHOOK_TIMEOUT: 'webhooks.timeout',
  WEBHOOK_RETRY_DELAYS_MS: 'webhooks.retryDelaysMs',
  WEBHOOK_DISABLE_AFTER: 'webhooks.disableAfter',
  WEBHOOK_CONCURRENCY: 'webhooks.concurrency',
  WEBHOOK_PER_ENDPOINT_CONCURRENCY: 'webhooks.perEndpointConcurrency',
  WEBHOOK_POLL_INTERVAL: 'webhooks.pollInterval',
  WEBHOOK_DELIVERY_RETENTION: 'webhooks.deliveryRetention',
  WEBHOOK_SECRET_KEYS: 'webhooks.secretKeys',
  WEBHOOK_MAX_ENDPOINTS_PER_OWNER: 'webhooks.maxEndpointsPerOwner',
  CONVERSATION_MAIL_AFTER: 'conversations.mailAfter'
}

// The app's settings are what its schema says: `app.get('mail')` is typed from it, declared nowhere else.
declare module '@marketmesh/shared' {
  interface ServiceConfiguration extends Static<typeof settingsSchema> {}
}
