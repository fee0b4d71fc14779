import { StringEnum, Type, type Static } from '@feathersjs/typebox'
import { baseEnvironment, durationSetting, readCacheEnvironment, readCacheSettingsProperties, serviceSettingsSchema } from '@marketmesh/shared'

export const settingsSchema = serviceSettingsSchema({
  /** Page sizes of the lists (`$limit`): the default and the most a caller may ask for. */
  paginate: Type.Object({
    default: Type.Integer({ minimum: 1 }),
    max: Type.Integer({ minimum: 1 })
  }),
  /** Product images: where they are kept, what is accepted, and how uploads are scanned. */
  media: Type.Object({
    /** The folder of the local store (relative to the package folder unless absolute); unused with S3. */
    directory: Type.String({ minLength: 1 }),
    /** Signs the local store's upload URLs; with S3 the bucket's credentials sign them. */
    signingKey: Type.String({ minLength: 32 }),
    /** Where buyers fetch images (a CDN in front of `/media`); empty: this service's own `/media`, as a path. */
    publicUrl: Type.String({ pattern: '^(https?://.+)?$' }),
    /** An S3-compatible bucket; empty `bucket`: the local folder. */
    s3: Type.Object({
      bucket: Type.String(),
      region: Type.String({ minLength: 1 }),
      /** For a store other than AWS (MinIO, s3rver, R2): its URL, as this service reaches it. */
      endpoint: Type.String({ pattern: '^(https?://.+)?$' }),
      /**
       * The store's URL as the sellers' browsers and apps reach it, which upload URLs are signed
       * for (the signature covers the host); empty: `endpoint`.
       */
      publicEndpoint: Type.String({ pattern: '^(https?://.+)?$' }),
      accessKeyId: Type.String(),
      secretAccessKey: Type.String(),
      forcePathStyle: Type.Boolean()
    }),
    /** `clamav`: every upload is scanned by clamd at `clamavUrl` (required); `off`: none; `auto`: clamav when `clamavUrl` is set. */
    scan: StringEnum(['auto', 'clamav', 'off']),
    /** clamd's TCP socket, `tcp://host:3310`. */
    clamavUrl: Type.String({ pattern: '^(tcp://[^:/]+:[0-9]+)?$' }),
    maxBytes: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
    maxImagesPerProduct: Type.Integer({ minimum: 1 }),
    /** Pixels on the longer side, and in all: larger images are refused before they are decoded. */
    maxSide: Type.Integer({ minimum: 1 }),
    maxPixels: Type.Integer({ minimum: 1 }),
    /** Upload requests (`POST /products/:id/images`) per seller a minute. */
    uploadsPerMinute: Type.Integer({ minimum: 1 }),
    /** How long an upload URL takes the upload. */
    uploadUrlLifetime: durationSetting,
    /** An upload not completed by its URL's expiry plus this is deleted, with any bytes that arrived. */
    uploadCleanupGrace: durationSetting
  }),
  ...readCacheSettingsProperties,
  /** Seconds the read cache keeps each kind of entry (writes drop them sooner). */
  cacheTtlSeconds: Type.Object({
    product: Type.Integer({ minimum: 1 }),
    list: Type.Integer({ minimum: 1 }),
    search: Type.Integer({ minimum: 1 }),
    categories: Type.Integer({ minimum: 1 })
  })
})

export const environment: typeof baseEnvironment = {
  ...baseEnvironment,
  PAGINATE_DEFAULT: 'paginate.default',
  PAGINATE_MAX: 'paginate.max',
  MEDIA_DIRECTORY: 'media.directory',
  MEDIA_SIGNING_KEY: 'media.signingKey',
  MEDIA_PUBLIC_URL: 'media.publicUrl',
  MEDIA_S3_BUCKET: 'media.s3.bucket',
  MEDIA_S3_REGION: 'media.s3.region',
  MEDIA_S3_ENDPOINT: 'media.s3.endpoint',
  MEDIA_S3_PUBLIC_ENDPOINT: 'media.s3.publicEndpoint',
  MEDIA_S3_ACCESS_KEY_ID: 'media.s3.accessKeyId',
  MEDIA_S3_SECRET_ACCESS_KEY: 'media.s3.secretAccessKey',
  MEDIA_S3_FORCE_PATH_STYLE: 'media.s3.forcePathStyle',
  MEDIA_SCAN: 'media.scan',
  MEDIA_CLAMAV_URL: 'media.clamavUrl',
  MEDIA_MAX_BYTES: 'media.maxBytes',
  MEDIA_MAX_IMAGES_PER_PRODUCT: 'media.maxImagesPerProduct',
  MEDIA_MAX_SIDE: 'media.maxSide',
  MEDIA_MAX_PIXELS: 'media.maxPixels',
  MEDIA_UPLOAD_RATE_LIMIT_PER_MINUTE: 'media.uploadsPerMinute',
  MEDIA_UPLOAD_URL_LIFETIME: 'media.uploadUrlLifetime',
  MEDIA_UPLOAD_CLEANUP_GRACE: 'media.uploadCleanupGrace',
  ...readCacheEnvironment,
  CACHE_TTL_PRODUCT_S: 'cacheTtlSeconds.product',
  CACHE_TTL_LIST_S: 'cacheTtlSeconds.list',
  CACHE_TTL_SEARCH_S: 'cacheTtlSeconds.search',
  CACHE_TTL_CATEGORIES_S: 'cacheTtlSeconds.categories'
}

export type MediaSettings = Static<typeof settingsSchema>['media']

// The app's settings are what its schema says: `app.get('mail')` is typed from it, declared nowhere else.
declare module '@marketmesh/shared' {
  interface ServiceConfiguration extends Static<typeof settingsSchema> {}
}
