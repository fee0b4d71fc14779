/** Waits before the next attempt: doubling from `baseMs` up to `maxMs`, each wait a random part of it so that a shop's devices do not retry in step. */
export const backoffDelay = (attempt: number, { baseMs = 500, maxMs = 30_000 } = {}) => {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt)
  return ceiling / 2 + Math.random() * (ceiling / 2)
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
