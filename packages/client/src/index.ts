export { createMarketmeshClient, type ClientOptions, type MarketmeshClient } from './client.js'
export type { ImageFile, ProductImagesApi, UploadOptions } from './images.js'
export type * from './schema-types.js'
export {
  paths,
  type CheckoutsService,
  type EmailVerificationsService,
  type PasswordResetsService,
  type Paginated,
  type RefundsService,
  type Path,
  type RequestParams,
  type ServiceName,
  type ServiceTypes
} from './services.js'
export type { Tokens, TokenStorage } from './session.js'
export type { EventSourceConstructor, Stream, StreamEvent, StreamEventData, StreamEventType, StreamOptions } from './stream.js'
