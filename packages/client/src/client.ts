import { feathers, type Application } from '@feathersjs/feathers'
import rest from '@feathersjs/rest-client'
import {
  paths,
  type CheckoutsService,
  type ConversationsService,
  type EmailVerificationsService,
  type PasswordResetsService,
  type RefundsService,
  type RequestParams,
  type ServiceName,
  type ServiceTypes
} from './services.js'
import { productImagesApi, type ProductImagesApi } from './images.js'
import type { User } from './schema-types.js'
import { Session, type Fetch, type Tokens, type TokenStorage } from './session.js'
import { openStream, type Stream, type StreamOptions } from './stream.js'

export interface ClientOptions {
  /** One URL for all four services (a gateway in front of them)… */
  baseUrl?: string
  /** …or one per service, e.g. `{ user: 'http://localhost:3031', catalog: …, order: …, notify: … }`. */
  urls?: Record<ServiceName, string>
  /** Keeps the session across reloads (e.g. `localStorage`); in memory only without it. */
  storage?: TokenStorage
  /** A fixed bearer token instead of a login, never refreshed: a device's (a printer appliance streams and acknowledges its print jobs with it). */
  token?: string
  /** How long before its expiry an access token is renewed; 30 s (at most half its lifetime). */
  refreshAheadMs?: number
  /** Told when the session ends by itself: its refresh token was refused (expired, revoked, or the account disabled). */
  onSessionEnded?: () => void
  /** `fetch` to use; the global one by default. The stream uses it only where `fetch` streams response bodies (not in React Native). */
  fetch?: Fetch
}

/** The client's API: its types are marketmesh's own, whatever transport carries the calls. */
export interface MarketmeshClient {
  /** Logs in with email and password; every service then takes the session's token. */
  login(email: string, password: string): Promise<Tokens>
  /** Ends the session on the server (its refresh tokens stop working) and here. */
  logout(): Promise<void>
  /** The signed-in user, as of the login or the last refresh. */
  readonly user: User | undefined
  /** The current tokens, undefined when logged out. */
  readonly tokens: Tokens | undefined
  users: ServiceTypes['users']
  devices: ServiceTypes['devices']
  passwordResets: PasswordResetsService
  emailVerifications: EmailVerificationsService
  /** With `images`: a product's images, and `images.upload(productId, file)` doing the upload's three steps. */
  products: ServiceTypes['products'] & { images: ProductImagesApi }
  categories: ServiceTypes['categories']
  reviews: ServiceTypes['reviews']
  search: ServiceTypes['search']
  checkouts: CheckoutsService
  orders: ServiceTypes['orders']
  refunds: RefundsService
  ledger: ServiceTypes['ledger']
  /** A seller's payout accounts at the payment providers (`create` answers a fresh onboarding link); admins see all. */
  payoutAccounts: ServiceTypes['payout-accounts']
  /** A seller's payouts (admins: all), filtered by status, orderId, createdAt. */
  payouts: ServiceTypes['payouts']
  notifications: ServiceTypes['notifications']
  announcements: ServiceTypes['announcements']
  printJobs: ServiceTypes['print-jobs']
  conversations: ConversationsService
  printers: ServiceTypes['printers']
  /** notify-service's `GET /stream`: typed messages, resumed from `lastEventId` and after every reconnection. */
  stream(options: StreamOptions): Stream
}

const serviceNames: ServiceName[] = ['user', 'catalog', 'order', 'notify']

const urlsOf = ({ baseUrl, urls }: ClientOptions): Record<ServiceName, string> => {
  if (urls) {
    for (const name of serviceNames) if (!urls[name]) throw new Error(`createMarketmeshClient: urls.${name} is missing`)
    return urls
  }
  if (baseUrl) return { user: baseUrl, catalog: baseUrl, order: baseUrl, notify: baseUrl }
  throw new Error('createMarketmeshClient needs baseUrl (one gateway) or urls (one per service)')
}

interface AuthenticationService {
  create(
    data: { strategy: 'local'; email: string; password: string } | { strategy: 'refresh'; refreshToken: string },
    params: object
  ): Promise<Tokens>
  remove(id: null, params: object): Promise<unknown>
}

/**
 * The client of marketmesh for web and mobile apps: one login for the four services, its tokens
 * renewed as needed, each service's API typed by what its server accepts, and the notification
 * stream.
 *
 *   const mm = createMarketmeshClient({ baseUrl: 'https://api.example.com' })
 *   await mm.login('ada@example.com', 'correct horse')
 *   const { data } = await mm.products.find({ query: { $limit: 10 } })
 */
export const createMarketmeshClient = (options: ClientOptions): MarketmeshClient => {
  const urls = urlsOf(options)
  const fetchImplementation: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
  // Logging in and refreshing go without the access token: they are how one gets it.
  const authentication = rest(urls.user).fetch(fetchImplementation).service('authentication') as unknown as AuthenticationService
  const session = new Session({
    refresh: (refreshToken) => authentication.create({ strategy: 'refresh', refreshToken }, {}),
    storage: options.storage,
    refreshAheadMs: options.refreshAheadMs ?? 30_000,
    fixedToken: options.token,
    onSessionEnded: options.onSessionEnded
  })
  const authorizedFetch = session.authorizedFetch(fetchImplementation)

  const app: Application<ServiceTypes> = feathers()
  const connections = Object.fromEntries(serviceNames.map((name) => [name, rest(urls[name]).fetch(authorizedFetch)]))
  for (const [path, { service, methods }] of Object.entries(paths)) {
    // The REST transport's services are untyped: registered on the untyped view of the app, and
    // ServiceTypes says what each path takes and answers.
    ;(app as Application).use(path, connections[service].service(path), { methods: [...methods] })
  }
  // The REST transport hands `params.connection` to fetch as its options: a call's signal goes there.
  // It converts fetch's rejection into a plain Error: an aborted call rejects with the signal's reason instead.
  ;(app as Application).hooks({
    before: {
      all: [
        (context) => {
          const { signal } = context.params as RequestParams
          if (signal) context.params.connection = { ...context.params.connection, signal }
        }
      ]
    },
    error: {
      all: [
        (context) => {
          const { signal } = context.params as RequestParams
          if (signal?.aborted) context.error = signal.reason
        }
      ]
    }
  })
  const authenticated = connections.user.service('authentication') as unknown as AuthenticationService
  const checkouts = app.service('checkouts')
  const refunds = app.service('refunds')
  // One conversation's messages, at the path of its id.
  const messages = connections.notify.service('conversations/:conversationId/messages') as unknown as Record<
    'find' | 'create' | 'patch',
    (...args: unknown[]) => Promise<any>
  >
  const conversationMessages: ConversationsService['messages'] = {
    find: (conversationId, params = {}) => messages.find({ ...params, route: { conversationId } }),
    create: (conversationId, data) => messages.create(data, { route: { conversationId } }),
    hide: (conversationId, messageId, reason) => messages.patch(messageId, { hidden: true, reason }, { route: { conversationId } })
  }
  // The confirmations are services of their own at a sub-path, which takes a token rather than a login.
  const confirmation = (path: string) => connections.user.service(path) as unknown as { create(data: object, params: object): Promise<any> }

  return {
    async login(email, password) {
      const tokens = await authentication.create({ strategy: 'local', email, password }, {})
      await session.set(tokens)
      return tokens
    },
    async logout() {
      try {
        if (session.current) await authenticated.remove(null, {})
      } finally {
        await session.set(undefined)
      }
    },
    get user() {
      return session.user
    },
    get tokens() {
      return session.current
    },
    users: app.service('users'),
    devices: app.service('devices'),
    passwordResets: {
      request: (data) => app.service('password-resets').create(data),
      confirm: (data) => confirmation('password-resets/confirm').create(data, {})
    },
    emailVerifications: {
      request: () => app.service('email-verifications').create({}),
      confirm: (data) => confirmation('email-verifications/confirm').create(data, {})
    },
    products: Object.assign(app.service('products'), {
      images: productImagesApi(urls.catalog, (path) => connections.catalog.service(path), fetchImplementation)
    }),
    categories: app.service('categories'),
    reviews: app.service('reviews'),
    search: app.service('search'),
    checkouts: {
      create: (data, { idempotencyKey, ...params }) =>
        checkouts.create(data, { ...params, headers: { ...params.headers, 'Idempotency-Key': idempotencyKey } }),
      get: (id, params) => checkouts.get(id, params)
    },
    orders: app.service('orders'),
    refunds: {
      create: (data, { idempotencyKey, ...params }) =>
        refunds.create(data, { ...params, headers: { ...params.headers, 'Idempotency-Key': idempotencyKey } }),
      find: (params) => refunds.find(params)
    },
    ledger: app.service('ledger'),
    payoutAccounts: app.service('payout-accounts'),
    payouts: app.service('payouts'),
    notifications: app.service('notifications'),
    announcements: app.service('announcements'),
    printJobs: app.service('print-jobs'),
    printers: app.service('printers'),
    conversations: Object.assign(app.service('conversations'), { messages: conversationMessages }),
    // No URL objects: React Native's URL adds a trailing slash and cannot set search parameters.
    stream: (streamOptions) => openStream(`${urls.notify.replace(/\/$/, '')}/stream`, session, options.fetch, streamOptions)
  }
}
