import { accessToken } from '@marketmesh/test-support/tokens'

export interface Answer {
  status: number
  // Any JSON: each caller reads the shape it expects.
  body: any
  /** Answered from the stored response of an earlier attempt with the same Idempotency-Key. */
  replayed: boolean
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A client that rides out faults: a refused or broken connection, a 5xx (a database or broker
 * away) or, for a request with an Idempotency-Key, a 409 (that key still in progress) is tried again with the very same
 * request, headers included, until `deadline`; any other answer is the answer. Only requests the
 * API makes safe to repeat (reads, and writes with an Idempotency-Key) go through it.
 */
export const persistentCall = async (
  url: string,
  method: string,
  path: string,
  {
    token,
    body,
    headers = {},
    deadline = Date.now() + 120_000
  }: { token?: string; body?: unknown; headers?: Record<string, string>; deadline?: number } = {}
): Promise<Answer & { attempts: number }> => {
  for (let attempts = 1; ; attempts++) {
    let failure: string
    try {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000)
      })
      const text = await response.text()
      const inProgress = response.status === 409 && 'Idempotency-Key' in headers
      if (response.status < 500 && !inProgress) {
        return {
          status: response.status,
          body: text ? JSON.parse(text) : undefined,
          replayed: response.headers.get('idempotent-replayed') === 'true',
          attempts
        }
      }
      failure = `${response.status} ${text.slice(0, 200)}`
    } catch (error) {
      failure = (error as Error).message
    }
    if (Date.now() > deadline) throw new Error(`${method} ${path} still failing after ${attempts} attempts: ${failure}`)
    await sleep(Math.min(100 * 2 ** Math.min(attempts, 5), 2_000) * (0.5 + Math.random()))
  }
}

/** The same, for a call that must succeed: anything but a 2xx fails the test with the answer. */
export const call = async (url: string, method: string, path: string, options: Parameters<typeof persistentCall>[3] = {}) => {
  const answer = await persistentCall(url, method, path, options)
  if (answer.status >= 300) throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`)
  return answer.body
}

const PAGE = 100

/** Every record of a paginated Feathers list (`path` may have a query of its own). */
export const listAll = async <T>(url: string, path: string, token: string, { byId = false } = {}) => {
  const records: T[] = []
  for (let skip = 0; ; skip += PAGE) {
    // Pages of a list in no set order may repeat or skip rows that moved between two reads: where
    // a list may be sorted by its id (`byId`) and runs to several pages, it is.
    const sort = byId ? '$sort[id]=1&' : ''
    const page = await call(url, 'GET', `${path}${path.includes('?') ? '&' : '?'}${sort}$limit=${PAGE}&$skip=${skip}`, { token })
    records.push(...page.data)
    if (records.length >= page.total || page.data.length === 0) return records
  }
}

/** An admin's token, as the audits read the books with. */
export const adminToken = () => accessToken({ id: '00000000-0000-4000-8000-000000000001', role: 'admin' })
