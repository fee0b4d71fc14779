import type {
  Announcement,
  AnnouncementData,
  AnnouncementQuery,
  Category,
  CategoryData,
  CategoryPatch,
  CategoryQuery,
  Checkout,
  CheckoutData,
  Conversation,
  ConversationData,
  ConversationMessage,
  ConversationMessageData,
  ConversationMessagePatch,
  ConversationMessageQuery,
  ConversationPatch,
  ConversationQuery,
  Device,
  DeviceData,
  DeviceQuery,
  EmailVerification,
  EmailVerificationConfirmation,
  EmailVerificationConfirmationData,
  LedgerQuery,
  LedgerView,
  Notification,
  NotificationQuery,
  Order,
  OrderPatch,
  OrderQuery,
  Payout,
  PayoutAccount,
  PayoutAccountData,
  PayoutAccountQuery,
  PayoutQuery,
  PasswordReset,
  PasswordResetConfirmation,
  PasswordResetConfirmationData,
  PasswordResetData,
  PrintJob,
  PrintJobData,
  PrintJobPatch,
  PrintJobQuery,
  Printer,
  PrinterQuery,
  Product,
  ProductData,
  ProductPatch,
  ProductQuery,
  Refund,
  RefundData,
  RefundQuery,
  Review,
  ReviewData,
  ReviewQuery,
  SearchQuery,
  SearchResult,
  User,
  UserData,
  UserPatch,
  UserQuery
} from './schema-types.js'

/** A page of a list: `$limit` and `$skip` of the query choose it. */
export interface Paginated<T> {
  total: number
  limit: number
  skip: number
  data: T[]
}

/** What a call may carry besides its data: the query string and extra headers. */
export interface RequestParams<Query = never> {
  query?: Query
  headers?: Record<string, string>
  /** Cancels the call: it rejects with the signal's reason (an `AbortError` unless given another), and its request is aborted. */
  signal?: AbortSignal
}

/** The four services; `urls` names one base URL for each. */
export type ServiceName = 'user' | 'catalog' | 'order' | 'notify'

/** Every path of the HTTP API, the service that answers it and the methods it takes from outside. */
export const paths = {
  users: { service: 'user', methods: ['find', 'get', 'create', 'patch'] },
  devices: { service: 'user', methods: ['find', 'get', 'create', 'remove'] },
  'password-resets': { service: 'user', methods: ['create'] },
  'email-verifications': { service: 'user', methods: ['create'] },
  products: { service: 'catalog', methods: ['find', 'get', 'create', 'patch', 'remove'] },
  categories: { service: 'catalog', methods: ['find', 'get', 'create', 'patch', 'remove'] },
  reviews: { service: 'catalog', methods: ['find', 'get', 'create'] },
  search: { service: 'catalog', methods: ['find'] },
  checkouts: { service: 'order', methods: ['create', 'get'] },
  orders: { service: 'order', methods: ['find', 'get', 'patch'] },
  refunds: { service: 'order', methods: ['find', 'create'] },
  ledger: { service: 'order', methods: ['find'] },
  'payout-accounts': { service: 'order', methods: ['find', 'create'] },
  payouts: { service: 'order', methods: ['find'] },
  notifications: { service: 'notify', methods: ['find'] },
  announcements: { service: 'notify', methods: ['find', 'create'] },
  'print-jobs': { service: 'notify', methods: ['find', 'get', 'create', 'patch'] },
  printers: { service: 'notify', methods: ['find'] },
  conversations: { service: 'notify', methods: ['find', 'get', 'create', 'patch'] }
} as const satisfies Record<string, { service: ServiceName; methods: readonly string[] }>

export type Path = keyof typeof paths

interface Methods<Result, Data, Patch, Query> {
  find(params?: RequestParams<Query>): Promise<Paginated<Result>>
  get(id: string, params?: RequestParams<Query>): Promise<Result>
  create(data: Data, params?: RequestParams<Query>): Promise<Result>
  patch(id: string, data: Patch, params?: RequestParams<Query>): Promise<Result>
  remove(id: string, params?: RequestParams<Query>): Promise<Result>
}

/** A path's service with the methods it takes, typed by what its server accepts and answers. */
type Service<P extends Path, Result, Data = never, Patch = never, Query = never> = Pick<
  Methods<Result, Data, Patch, Query>,
  (typeof paths)[P]['methods'][number]
>

/** The Feathers services of the client app, by path. */
export interface ServiceTypes {
  users: Service<'users', User, UserData, UserPatch, UserQuery>
  devices: Service<'devices', Device, DeviceData, never, DeviceQuery>
  'password-resets': Service<'password-resets', PasswordReset, PasswordResetData>
  'email-verifications': Service<'email-verifications', EmailVerification, Record<string, never>>
  products: Service<'products', Product, ProductData, ProductPatch, ProductQuery>
  categories: Service<'categories', Category, CategoryData, CategoryPatch, CategoryQuery>
  reviews: Service<'reviews', Review, ReviewData, never, ReviewQuery>
  search: { find(params?: RequestParams<SearchQuery>): Promise<SearchResult> }
  checkouts: Service<'checkouts', Checkout, CheckoutData>
  orders: Service<'orders', Order, never, OrderPatch, OrderQuery>
  refunds: Service<'refunds', Refund, RefundData, never, RefundQuery>
  ledger: { find(params?: RequestParams<LedgerQuery>): Promise<LedgerView> }
  'payout-accounts': Service<'payout-accounts', PayoutAccount, PayoutAccountData, never, PayoutAccountQuery>
  payouts: Service<'payouts', Payout, never, never, PayoutQuery>
  notifications: Service<'notifications', Notification, never, never, NotificationQuery>
  announcements: Service<'announcements', Announcement, AnnouncementData, never, AnnouncementQuery>
  'print-jobs': Service<'print-jobs', PrintJob, PrintJobData, PrintJobPatch, PrintJobQuery>
  printers: Service<'printers', Printer, never, never, PrinterQuery>
  conversations: Service<'conversations', Conversation, ConversationData, ConversationPatch, ConversationQuery>
}

/**
 * Buyers and shops talking about an order or a product (notify-service). `create` is a buyer's
 * message about `orderId` or `productId`, in the conversation there is or a new one; `patch` with
 * `readUpTo` marks it read. `messages` are one conversation's, oldest first: its parties post, an
 * admin hides one (`hide`). New messages come live on `stream()` as `message`.
 */
export type ConversationsService = ServiceTypes['conversations'] & {
  messages: {
    find(conversationId: string, params?: RequestParams<ConversationMessageQuery>): Promise<Paginated<ConversationMessage>>
    create(conversationId: string, data: ConversationMessageData): Promise<ConversationMessage>
    hide(conversationId: string, messageId: string, reason: ConversationMessagePatch['reason']): Promise<ConversationMessage>
  }
}

/**
 * A forgotten password. `request` (`POST /password-resets`) mails a link to the account of the
 * email, if there is one: the answer is the same either way. The link opens the app with the token
 * in its fragment (`/reset-password#token=…`); `confirm` (`POST /password-resets/confirm`) sets the
 * new password with it and ends every session of the account.
 */
export interface PasswordResetsService {
  request(data: PasswordResetData): Promise<PasswordReset>
  confirm(data: PasswordResetConfirmationData): Promise<PasswordResetConfirmation>
}

/**
 * Verifying the signed-in user's email. `request` (`POST /email-verifications`) mails a new link;
 * `confirm` (`POST /email-verifications/confirm`) takes the token of a link (`/verify-email#token=…`)
 * and needs no login. The access token says `email_verified` from the next refresh or login on.
 */
export interface EmailVerificationsService {
  request(): Promise<EmailVerification>
  confirm(data: EmailVerificationConfirmationData): Promise<EmailVerificationConfirmation>
}

/**
 * `POST /checkouts` with its `Idempotency-Key`: the same key and body again (a retry after a lost
 * answer) gets the stored checkout back, never a second one.
 */
export interface CheckoutsService {
  create(data: CheckoutData, params: RequestParams & { idempotencyKey: string }): Promise<Checkout>
  get(id: string, params?: RequestParams): Promise<Checkout>
}

/**
 * `POST /refunds` (admins) with its `Idempotency-Key`: the same key and body again gets the stored
 * refund back, never a second payment; `find` gives buyers and sellers the refunds of their orders.
 */
export interface RefundsService {
  create(data: RefundData, params: RequestParams & { idempotencyKey: string }): Promise<Refund>
  find(params?: RequestParams<RefundQuery>): Promise<Paginated<Refund>>
}
