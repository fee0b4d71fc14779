export { createMarketmeshClient, type ClientOptions, type MarketmeshClient } from './client'
export type { ImageFile, ProductImagesApi, UploadOptions } from './images'
export type * from './schema-types'
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
} from './services'
export type { Tokens, TokenStorage } from './session'
export type { EventSourceConstructor, Stream, StreamEvent, StreamEventData, StreamEventType, StreamOptions } from './stream'
