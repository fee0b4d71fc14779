import { Counter, type Registry } from 'prom-client'

/** What a refused stream's caller is told to wait before trying again (`Retry-After`): a slot frees only when one of its streams ends. */
export const STREAM_LIMIT_RETRY_AFTER_SECONDS = 30

export interface StreamLimitSettings {
  /** The most streams one caller (a user, a device) may have open. */
  perCaller: number
  /** The most streams one client address may have open, whoever the callers. */
  perAddress: number
}

/**
 * The streams open on this instance, counted per caller and per client address. Counted in this
 * process, not in the database: behind N instances a caller may hold N times the limit, which
 * still bounds what one token can take (and a stream, unlike a row, ends with its process).
 */
export class StreamLimits {
  private readonly byCaller = new Map<string, number>()
  private readonly byAddress = new Map<string, number>()
  private readonly refusals: Counter<'limit'>

  constructor(
    private readonly limits: StreamLimitSettings,
    registry: Registry
  ) {
    this.refusals = new Counter({
      name: 'sse_refused_total',
      help: 'Streams refused for a limit reached',
      labelNames: ['limit'],
      registers: [registry]
    })
  }

  /**
   * Counts one more stream of `caller` (see `streamOwner`) from `address`; or, when either has its
   * most open already, returns the reason it may not (and counts nothing). `release` uncounts it.
   */
  admit(caller: string, address: string): string | undefined {
    if ((this.byCaller.get(caller) ?? 0) >= this.limits.perCaller) {
      this.refusals.inc({ limit: 'caller' })
      return `Too many open streams for this caller (${this.limits.perCaller}); close one first`
    }
    if ((this.byAddress.get(address) ?? 0) >= this.limits.perAddress) {
      this.refusals.inc({ limit: 'address' })
      return `Too many open streams from this address (${this.limits.perAddress}); close one first`
    }
    add(this.byCaller, caller, 1)
    add(this.byAddress, address, 1)
    return undefined
  }

  /** Uncounts a stream `admit` counted, once it has ended. */
  release(caller: string, address: string) {
    add(this.byCaller, caller, -1)
    add(this.byAddress, address, -1)
  }
}

const add = (counts: Map<string, number>, key: string, change: number) => {
  const count = (counts.get(key) ?? 0) + change
  if (count === 0) counts.delete(key)
  else counts.set(key, count)
}
