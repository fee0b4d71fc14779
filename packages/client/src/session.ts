import type { User } from './schema-types.js'

/** What a login or a refresh gives: the access token every service takes, the refresh token that renews it, and who it is. */
export interface Tokens {
  accessToken: string
  refreshToken: string
  user: User
}

/** Where the session is kept between page loads or app starts: `localStorage`, React Native's AsyncStorage, or your own. */
export interface TokenStorage {
  getItem(key: string): string | null | Promise<string | null>
  setItem(key: string, value: string): void | Promise<void>
  removeItem(key: string): void | Promise<void>
}

export type Fetch = typeof fetch

const STORAGE_KEY = 'marketmesh.session'

/** The `exp` and `iat` claims of a JWT, in ms; undefined for a token that is no JWT (a device's). */
const lifetimeOf = (token: string) => {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))) as { exp?: number; iat?: number }
    return typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000, issuedAt: (payload.iat ?? payload.exp) * 1000 } : undefined
  } catch {
    return undefined
  }
}

export const withBearer = (init: RequestInit | undefined, token: string | undefined): RequestInit => {
  const headers = new Headers(init?.headers)
  if (token) headers.set('Authorization', `Bearer ${token}`)
  return { ...init, headers }
}

export interface SessionOptions {
  /** Renews the pair with `{ strategy: 'refresh', refreshToken }`; rejects with a 401 when the refresh token is no longer valid. */
  refresh: (refreshToken: string) => Promise<Tokens>
  storage?: TokenStorage
  /** How long before its expiry an access token is renewed (at most half its lifetime). */
  refreshAheadMs: number
  /** A fixed bearer token (a device's), never refreshed. */
  fixedToken?: string
  /** Told when the session ends without a logout: its refresh token was refused. */
  onSessionEnded?: () => void
}

/**
 * The one login of the client, shared by its four connections and the stream. An access token
 * close to its expiry, or refused with a 401, is renewed with the refresh token, once however
 * many calls need it at the same moment: they all wait for the same refresh.
 */
export class Session {
  private tokens?: Tokens
  private loaded?: Promise<void>
  private refreshing?: Promise<string | undefined>

  constructor(private readonly options: SessionOptions) {}

  get user() {
    return this.tokens?.user
  }

  /** The current pair, e.g. to hand to another client; undefined when logged out. */
  get current(): Tokens | undefined {
    return this.tokens
  }

  /** Whether calls go with a token: a login's, or a device's. */
  get signedIn() {
    return this.options.fixedToken !== undefined || this.tokens !== undefined
  }

  async set(tokens: Tokens | undefined) {
    this.tokens = tokens
    const { storage } = this.options
    if (!storage) return
    if (tokens) await storage.setItem(STORAGE_KEY, JSON.stringify(tokens))
    else await storage.removeItem(STORAGE_KEY)
  }

  /** The access token to send now, renewed first if it is about to expire. */
  async accessToken(): Promise<string | undefined> {
    if (this.options.fixedToken) return this.options.fixedToken
    await this.load()
    if (this.refreshing) return this.refreshing
    if (!this.tokens) return undefined
    const lifetime = lifetimeOf(this.tokens.accessToken)
    const ahead = lifetime ? Math.min(this.options.refreshAheadMs, (lifetime.expiresAt - lifetime.issuedAt) / 2) : 0
    if (lifetime && Date.now() >= lifetime.expiresAt - ahead) return this.renew(this.tokens.accessToken)
    return this.tokens.accessToken
  }

  /**
   * A fresh access token after `refused` was refused: the one another call has already obtained,
   * or a new one. Undefined when there is none to be had (logged out, or the refresh was refused).
   */
  async renew(refused: string): Promise<string | undefined> {
    if (this.options.fixedToken) return undefined
    if (this.refreshing) return this.refreshing
    if (!this.tokens) return undefined
    if (this.tokens.accessToken !== refused) return this.tokens.accessToken
    const { refreshToken } = this.tokens
    this.refreshing = this.options
      .refresh(refreshToken)
      .then(
        async (tokens) => {
          await this.set(tokens)
          return tokens.accessToken
        },
        async (error: { code?: number }) => {
          if (error?.code !== 401) throw error
          await this.set(undefined)
          this.options.onSessionEnded?.()
          return undefined
        }
      )
      .finally(() => {
        this.refreshing = undefined
      })
    return this.refreshing
  }

  /** `fetch` with the bearer token, renewed and retried once on a 401. */
  authorizedFetch(fetchImplementation: Fetch): Fetch {
    return async (input, init) => {
      const token = await this.accessToken()
      const response = await fetchImplementation(input, withBearer(init, token))
      if (response.status !== 401 || !token) return response
      const renewed = await this.renew(token)
      return renewed ? fetchImplementation(input, withBearer(init, renewed)) : response
    }
  }

  private load() {
    const { storage } = this.options
    this.loaded ??= (async () => {
      const stored = storage ? await storage.getItem(STORAGE_KEY) : null
      if (stored && !this.tokens) this.tokens = JSON.parse(stored) as Tokens
    })()
    return this.loaded
  }
}
