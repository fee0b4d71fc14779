import { lookup } from 'node:dns'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { printableLine } from '@marketmesh/shared'
import { Agent, request } from 'undici'

/** How a webhook target is checked: development's local receivers are allowed, production's are not. */
export interface TargetPolicy {
  allowHttp: boolean
  allowPrivate: boolean
}

/**
 * Where no webhook goes unless private targets are allowed: this host, private networks, link-local
 * (cloud metadata at 169.254.169.254 and fd00:ec2::254), shared address space, multicast and
 * reserved ranges, in IPv4 and IPv6 (an IPv4-mapped IPv6 address is checked as its IPv4 one).
 */
const privateAddresses = new BlockList()
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4]
] as const) {
  privateAddresses.addSubnet(network, prefix, 'ipv4')
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8]
] as const) {
  privateAddresses.addSubnet(network, prefix, 'ipv6')
}

export const isPrivateAddress = (address: string) => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1]
  if (mapped) return privateAddresses.check(mapped, 'ipv4')
  const family = isIP(address)
  return family === 0 || privateAddresses.check(address, family === 6 ? 'ipv6' : 'ipv4')
}

export class RefusedTarget extends Error {
  override name = 'RefusedTarget'
}

const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1')

/** Why `text` is no webhook URL under `policy` (scheme, credentials, form), or undefined. Addresses are checked by resolveTarget. */
export const urlProblem = (text: string, policy: TargetPolicy) => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return 'must be an absolute URL'
  }
  return parsedUrlProblem(url, policy)
}

const parsedUrlProblem = (url: URL, policy: TargetPolicy) => {
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:'))
    return policy.allowHttp ? 'must be http or https' : 'must be https'
  if (url.username || url.password) return 'must not carry credentials'
  if (url.hash) return 'must not have a fragment'
  return undefined
}

const resolveAll = (host: string) =>
  new Promise<Array<{ address: string; family: number }>>((resolve, reject) =>
    lookup(host, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)))
  )

/**
 * The addresses `url`'s host resolves to, refused (RefusedTarget) when private targets are not
 * allowed and any of them is private: one private answer is enough, since the connection might
 * take it. Checked at registration, and at each connection through `checkedLookup`.
 */
export const resolveTarget = async (url: URL, policy: TargetPolicy) => {
  const host = hostOf(url)
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolveAll(host)
  if (addresses.length === 0) throw new RefusedTarget(`${host} resolves to no address`)
  const refused = addresses.find(({ address }) => !policy.allowPrivate && isPrivateAddress(address))
  if (refused) throw new RefusedTarget(`${host} resolves to ${refused.address}, a private, loopback, link-local or reserved address`)
  return addresses
}

/**
 * A `lookup` for the connection that resolves once and checks what it connects to: the address
 * checked is the address used, so a DNS answer that changes between check and connect (rebinding)
 * changes nothing. An IP literal never reaches a lookup; sendWebhook checks it first.
 */
const checkedLookup =
  (policy: TargetPolicy): LookupFunction =>
  (hostname, options, callback) => {
    resolveTarget(new URL(`http://${isIP(hostname) === 6 ? `[${hostname}]` : hostname}`), policy).then(
      (addresses) => {
        const usable = addresses.filter(({ family }) => !options.family || family === options.family)
        if (usable.length === 0)
          return callback(Object.assign(new Error(`${hostname} has no address of family ${options.family}`), { code: 'ENOTFOUND' }), '', 4)
        if (options.all) return (callback as unknown as (error: null, addresses: typeof usable) => void)(null, usable)
        callback(null, usable[0].address, usable[0].family)
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, '', 4)
    )
  }

/** What one attempt came to. `statusCode` undefined: no answer (`error` says why). */
export interface AttemptOutcome {
  statusCode?: number
  durationMs: number
  responseSnippet?: string
  error?: string
}

export const SNIPPET_BYTES = 4096

/**
 * Keep-alive dispatchers per policy: sockets connect through checkedLookup, so a reused socket is
 * one to a checked address. undici rather than node:http: a delivery's request costs less than
 * half the CPU (36 µs against 90 in bench/README's comparison), and no tracing instrumentation
 * hooks it, so no trace context goes to someone else's system.
 */
const dispatchers = new Map<string, Agent>()
const dispatcherFor = (policy: TargetPolicy) => {
  const key = `${policy.allowHttp}:${policy.allowPrivate}`
  let dispatcher = dispatchers.get(key)
  if (!dispatcher) {
    dispatcher = new Agent({ connections: 64, connect: { lookup: checkedLookup(policy) } })
    dispatchers.set(key, dispatcher)
  }
  return dispatcher
}

/**
 * POSTs `body` to `url` with `headers`: no redirect followed (a 3xx is a failed attempt), at most
 * SNIPPET_BYTES of the answer read, control characters out of the snippet, and the whole exchange
 * within `timeoutMs`. Never throws: what went wrong is the outcome's `error`.
 */
export const sendWebhook = async (
  target: string,
  body: string,
  headers: Record<string, string>,
  { policy, timeoutMs }: { policy: TargetPolicy; timeoutMs: number }
): Promise<AttemptOutcome> => {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  // The whole exchange, not only a quiet socket: one timer, cleared with the outcome.
  const timeout = new AbortController()
  const timer = setTimeout(() => timeout.abort(), timeoutMs)
  try {
    const url = new URL(target)
    const problem = parsedUrlProblem(url, policy)
    if (problem) throw new RefusedTarget(`the URL ${problem}`)
    const host = hostOf(url)
    // An IP literal reaches no lookup: checked here (a name is checked by the connection's lookup).
    if (isIP(host) && !policy.allowPrivate && isPrivateAddress(host)) {
      throw new RefusedTarget(`${host} is a private, loopback, link-local or reserved address`)
    }
    const response = await request(url, {
      method: 'POST',
      dispatcher: dispatcherFor(policy),
      headers: { 'content-type': 'application/json', 'user-agent': 'marketmesh-webhooks/1', ...headers },
      body,
      signal: timeout.signal
    })
    const chunks: Buffer[] = []
    let read = 0
    try {
      for await (const chunk of response.body) {
        chunks.push(chunk)
        read += chunk.length
        // Enough read: the rest is not waited for (leaving the loop destroys the body, and the socket goes).
        if (read >= SNIPPET_BYTES) break
      }
    } catch {
      // The status came within the timeout, and it is the outcome: a body cut short after it (by the
      // receiver, or by the timeout) changes nothing.
    }
    const snippet =
      chunks.length === 0 ? '' : printableLine(Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8')).replace(/\uFFFD+$/, '')
    return { statusCode: response.statusCode, durationMs: elapsed(), responseSnippet: snippet }
  } catch (error) {
    return { durationMs: elapsed(), error: timeout.signal.aborted ? `no answer within ${timeoutMs} ms` : (error as Error).message }
  } finally {
    clearTimeout(timer)
  }
}
