import { backoffDelay, sleep } from './backoff'

/** The service refused the device's token: the agent stops, since retrying cannot help. */
export class RefusedTokenError extends Error {}

export type JobStatus = 'printing' | 'printed' | 'failed'

/** What a step's request came to: taken (also when it had been taken before), or refused with the service's reason. */
export type StepAnswer = { ok: true } | { ok: false; status: number; reason: string }

/** The message of a Feathers error answer, or its text. */
export const reasonOf = async (response: Response) => {
  const text = await response.text()
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text
  } catch {
    return text || response.statusText
  }
}

export const refusedToken = (status: number, reason: string) =>
  new RefusedTokenError(`the service refused the device token (HTTP ${status}: ${reason}); make a new one with POST /devices`)

/**
 * `PATCH /print-jobs/:id` as the device. The service answers a repeated step with the job as it is,
 * so a request whose answer was lost is simply sent again: until the service answers, or, once
 * `signal` (the agent stopping) aborted, after one more try; a step not taken is left for the next start.
 */
export const sendJobStep = async (
  { url, token, signal }: { url: string; token: string; signal: AbortSignal },
  jobId: string,
  step: { status: JobStatus; error?: string }
): Promise<StepAnswer | undefined> => {
  for (let attempt = 0; attempt === 0 || !signal.aborted; attempt++) {
    try {
      const response = await fetch(`${url}/print-jobs/${encodeURIComponent(jobId)}`, {
        method: 'PATCH',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(step),
        signal: AbortSignal.timeout(15_000)
      })
      if (response.ok) {
        await response.body?.cancel()
        return { ok: true }
      }
      const reason = await reasonOf(response)
      if (response.status === 401 || response.status === 403) throw refusedToken(response.status, reason)
      if (response.status < 500 && response.status !== 429) return { ok: false, status: response.status, reason }
    } catch (error) {
      if (error instanceof RefusedTokenError) throw error
    }
    await sleep(backoffDelay(attempt), signal)
  }
  return undefined
}
