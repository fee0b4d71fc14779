import type { Seeded } from './seed'
import type { RunningService } from './stack'

export const UNKNOWN_FIELD = 'fuzzProbeUnknownField'

const SOME_UUID = '00000000-0000-4000-8000-000000000000'

/** A route's path with each `:param` filled in with a seeded id of the path before it (`conversations/:conversationId/messages`). */
const filledPath = (path: string, seeded: Seeded) =>
  path
    .split('/')
    .map((part, index, parts) => (part.startsWith(':') ? (seeded.ids[parts.slice(0, index).join('/')]?.[0] ?? SOME_UUID) : part))
    .join('/')

const forms: Record<string, { method: string; withId: boolean; body: boolean }> = {
  find: { method: 'GET', withId: false, body: false },
  get: { method: 'GET', withId: true, body: false },
  create: { method: 'POST', withId: false, body: true },
  update: { method: 'PUT', withId: true, body: true },
  patch: { method: 'PATCH', withId: true, body: true },
  remove: { method: 'DELETE', withId: true, body: false }
}

/**
 * For every method every service exposes, asks with an unknown query field as each kind of caller.
 * A method that validates its query refuses it, naming it, for whoever gets past its door; one that
 * does not would answer a 2xx to someone, or a 400 that does not say which field.
 */
export const probeQueries = async (service: RunningService, seeded: Seeded) => {
  const findings: string[] = []
  let requests = 0
  for (const { path, methods } of service.routes) {
    for (const name of methods) {
      const form = forms[name] ?? { method: 'POST', withId: false, body: true }
      const id = seeded.ids[path]?.[0] ?? SOME_UUID
      const url = `${service.url}/${filledPath(path, seeded)}${form.withId ? `/${id}` : ''}?${UNKNOWN_FIELD}=1`
      const answers = await Promise.all(
        Object.entries(seeded.credentials).map(async ([credential, authorization]) => {
          const response = await fetch(url, {
            method: form.method,
            headers: {
              ...(form.body ? { 'Content-Type': 'application/json' } : {}),
              ...(authorization ? { Authorization: authorization } : {}),
              ...(forms[name] ? {} : { 'X-Service-Method': name })
            },
            body: form.body ? '{}' : undefined
          })
          requests++
          return { credential, status: response.status, message: String(((await response.json()) as { message?: unknown }).message) }
        })
      )
      const accepted = answers.filter((answer) => answer.status < 300)
      if (accepted.length > 0)
        findings.push(`${name} /${path} accepted ${UNKNOWN_FIELD} from ${accepted.map((answer) => answer.credential).join(', ')}`)
      if (!answers.some((answer) => answer.status === 400 && answer.message.includes(UNKNOWN_FIELD))) {
        findings.push(`${name} /${path} never named ${UNKNOWN_FIELD}: ${JSON.stringify(answers)}`)
      }
    }
  }
  return { requests, findings }
}
