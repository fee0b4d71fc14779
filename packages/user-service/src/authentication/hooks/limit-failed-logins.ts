import { NotAuthenticated, TooManyRequests } from '@feathersjs/errors'
import type { HookContext, NextFunction } from '@feathersjs/feathers'
import type { ServiceConfiguration } from '@marketmesh/shared'
import { durationMs } from '../../configuration'
import { normalisedEmail } from '../../services/users/hooks'

/**
 * Failed attempts per key in a sliding window, in this process's memory. With several instances
 * each counts only what reaches it: a shared store (Redis, or a PostgreSQL table) would make the
 * limits hold across them.
 */
export class FailureCounter {
  private readonly failures = new Map<string, number[]>()
  private lastSweep = Date.now()

  constructor(private readonly windowMs: number) {}

  /** Seconds until `key` may try again with at most `max` failures in the window; 0 when it may now. */
  retryAfterSeconds(key: string, max: number, now = Date.now()) {
    const recent = this.recent(key, now)
    if (recent.length < max) return 0
    return Math.max(1, Math.ceil((recent[recent.length - max] + this.windowMs - now) / 1000))
  }

  record(key: string, now = Date.now()) {
    this.failures.set(key, [...this.recent(key, now), now])
    this.sweep(now)
  }

  reset(key: string) {
    this.failures.delete(key)
  }

  private recent(key: string, now: number) {
    return (this.failures.get(key) ?? []).filter((at) => at > now - this.windowMs)
  }

  // Keys nobody retries would otherwise stay for ever (think of a scan through many emails).
  private sweep(now: number) {
    if (now - this.lastSweep < this.windowMs) return
    this.lastSweep = now
    for (const key of this.failures.keys()) {
      if (this.recent(key, now).length === 0) this.failures.delete(key)
    }
  }
}

/**
 * Around hook of POST /authentication: refuses an email or client IP with too many failed password
 * logins with 429 and Retry-After. A success clears the email's failures, not the IP's.
 */
export const limitFailedLogins = (settings: ServiceConfiguration['loginRateLimit']) => {
  const counter = new FailureCounter(durationMs(settings.window))
  return async (context: HookContext, next: NextFunction) => {
    if (context.data?.strategy !== 'local') return next()
    const emailKey = `email:${normalisedEmail(String(context.data.email ?? ''))}`
    const limits: Array<[string, number]> = [[emailKey, settings.maxFailuresPerEmail]]
    if (context.params.ip) limits.push([`ip:${context.params.ip}`, settings.maxFailuresPerIp])

    const wait = Math.max(...limits.map(([key, max]) => counter.retryAfterSeconds(key, max)))
    if (wait > 0) {
      context.http = { ...context.http, headers: { ...context.http?.headers, 'Retry-After': String(wait) } }
      throw new TooManyRequests(`Too many failed logins; try again in ${wait} seconds`, { retryAfter: wait })
    }
    try {
      await next()
    } catch (error) {
      if (error instanceof NotAuthenticated) for (const [key] of limits) counter.record(key)
      throw error
    }
    counter.reset(emailKey)
  }
}
