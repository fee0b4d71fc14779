import { lookup } from 'node:dns'
import http from 'node:http'
import https from 'node:https'
import { BlockList, isIP, type LookupFunction } from 'node:net'
import { printableLine } from '@marketmesh/shared'

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

/** Keep-alive agents per policy: sockets connect through checkedLookup, so a reused socket is one to a checked address. */
const agents = new Map<string, { http: http.Agent; https: https.Agent }>()
const agentsFor = (policy: TargetPolicy) => {
  const key = `${policy.allowHttp}:${policy.allowPrivate}`
  let pair = agents.get(key)
  if (!pair) {
    const options = { keepAlive: true, maxSockets: 64, lookup: checkedLookup(policy) }
    pair = { http: new http.Agent(options), https: new https.Agent(options) }
    agents.set(key, pair)
  }
  return pair
}

/**
 * POSTs `body` to `url` with `headers`: no redirect followed (a 3xx is a failed attempt), at most
 * SNIPPET_BYTES of the answer read, control characters out of the snippet, and the whole exchange
 * within `timeoutMs`. No trace context goes along (the tracing leaves requests with a `webhook-id`
 * alone): the receiver is someone else's system. Never throws: what went wrong is the outcome's `error`.
 */
export const sendWebhook = async (
  target: string,
  body: string,
  headers: Record<string, string>,
  { policy, timeoutMs }: { policy: TargetPolicy; timeoutMs: number }
): Promise<AttemptOutcome> => {
  const started = performance.now()
  const elapsed = () => Math.round(performance.now() - started)
  try {
    const url = new URL(target)
    const problem = parsedUrlProblem(url, policy)
    if (problem) throw new RefusedTarget(`the URL ${problem}`)
    const host = hostOf(url)
    // An IP literal reaches no lookup: checked here (a name is checked by the connection's lookup).
    if (isIP(host) && !policy.allowPrivate && isPrivateAddress(host)) {
      throw new RefusedTarget(`${host} is a private, loopback, link-local or reserved address`)
    }
    const client = url.protocol === 'https:' ? https : http
    const pair = agentsFor(policy)
    return await new Promise<AttemptOutcome>((resolve) => {
      const request = client.request(url, {
        method: 'POST',
        agent: url.protocol === 'https:' ? pair.https : pair.http,
        headers: {
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'marketmesh-webhooks/1',
          ...headers
        }
      })
      // The whole exchange, not only a quiet socket: one timer, cleared with the outcome.
      const timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      const settle = (outcome: AttemptOutcome) => {
        clearTimeout(timer)
        resolve(outcome)
      }
      request.on('error', (error: Error) => settle({ durationMs: elapsed(), error: error.message }))
      request.on('response', (response) => {
        const chunks: Buffer[] = []
        let read = 0
        const finish = () => {
          const snippet =
            chunks.length === 0 ? '' : printableLine(Buffer.concat(chunks).subarray(0, SNIPPET_BYTES).toString('utf8')).replace(/\uFFFD+$/, '')
          settle({ statusCode: response.statusCode, durationMs: elapsed(), responseSnippet: snippet })
        }
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk)
          read += chunk.length
          // Enough read: the rest is not waited for (the socket goes, not back to the pool).
          if (read >= SNIPPET_BYTES) {
            response.destroy()
            finish()
          }
        })
        response.on('end', finish)
        response.on('error', finish)
      })
      request.end(body)
    })
  } catch (error) {
    return { durationMs: elapsed(), error: (error as Error).message }
  }
}
