import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'

/** An OpenAPI document as the checker reads it: its paths (and the components they refer to). */
export interface OpenApiPaths {
  paths: Record<string, Record<string, unknown>>
  components?: { responses?: Record<string, unknown> }
}

type Response = { content?: Record<string, unknown>; $ref?: string }

/** An HTTP answer as the checker looks at it: `path` without the query string, `query` the string (`$select=…`), if any. */
export interface Answer {
  method: string
  path: string
  query?: string
  status: number
  contentType: string
  body?: unknown
}

interface Operation {
  method: string
  template: string
  pattern: RegExp
  responses: Record<string, Response>
}

const DOCUMENT_ID = 'openapi'

const pointer = (...segments: string[]) =>
  segments.map((segment) => encodeURIComponent(segment.replaceAll('~', '~0').replaceAll('/', '~1'))).join('/')

/**
 * Checks HTTP answers against an OpenAPI 3.1 document (a service's `GET /openapi.json`): the
 * operation for the method and path must exist, the status must be one it documents, and a JSON
 * body must match the documented schema (JSON Schema 2020-12, with formats). `check` answers the
 * problems, none when the answer is as documented.
 */
export class AnswerChecker {
  private readonly operations: Operation[]
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true, validateSchema: false }))
  private readonly validators = new Map<string, ValidateFunction>()

  constructor(private readonly document: OpenApiPaths) {
    this.ajv.addSchema(document, DOCUMENT_ID)
    this.operations = Object.entries(document.paths)
      .flatMap(([template, item]) =>
        Object.entries(item)
          .filter(([method]) => ['get', 'head', 'post', 'put', 'patch', 'delete'].includes(method))
          .map(([method, operation]) => ({
            method: method.toUpperCase(),
            template,
            pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
            responses: (operation as Operation).responses
          }))
      )
      // A fixed path before a template that also matches it (`/live/config.json`, not `/live/{file}`).
      .sort((a, b) => a.template.split('{').length - b.template.split('{').length)
  }

  check(answer: Answer): string[] {
    const where = `${answer.method} ${answer.path} ${answer.status}`
    const operation = this.operations.find(({ method, pattern }) => method === answer.method && pattern.test(answer.path))
    if (!operation) return [`${where}: no such operation in the document`]
    const status = String(answer.status)
    if (!operation.responses[status]) return [`${where}: status not documented for ${operation.method} ${operation.template}`]
    if (!answer.contentType.startsWith('application/json')) return []
    // An answer is described in place or referred to in components.responses (the errors).
    const reference = operation.responses[status].$ref
    const path = reference ? reference.slice(2).split('/') : ['paths', operation.template, operation.method.toLowerCase(), 'responses', status]
    const response = (reference ? this.document.components?.responses?.[path[2]] : operation.responses[status]) as Response | undefined
    if (!response?.content?.['application/json']) return [`${where}: a JSON body where the document has none`]
    const key = path.join(' ')
    if (!this.validators.has(key))
      this.validators.set(key, this.ajv.compile({ $ref: `${DOCUMENT_ID}#/${pointer(...path, 'content', 'application/json', 'schema')}` }))
    const validate = this.validators.get(key)!
    if (validate(answer.body)) return []
    // With `$select` an answer has only the fields asked for: the schema's `required` holds without it.
    const selected = decodeURIComponent(answer.query ?? '').includes('$select')
    return (validate.errors ?? [])
      .filter((error) => !(selected && error.keyword === 'required'))
      .map((error) => `${where}: ${error.instancePath || '(body)'} ${error.message ?? ''} ${JSON.stringify(error.params)}`)
  }
}
