import { getServiceOptions } from '@feathersjs/feathers'
import type { Middleware } from '@feathersjs/koa'
import type { TSchema } from '@feathersjs/typebox'
import type { ServiceApplication } from './declarations'
import { answersPath } from './http-paths'

/** Who may call an operation, as the service's hooks decide it (`roles` narrows it further: 403). */
export type Access =
  /** No credentials at all. */
  | 'public'
  /** Anyone; an access token, when sent, shows the caller more (e.g. their own drafts). */
  | 'optional'
  /** `Authorization: Bearer <accessToken>` of a user. */
  | 'user'
  /** A user's access token or a registered device's `mmdev_` token. */
  | 'userOrDevice'
  /** A printer polling CloudPRNT: HTTP Basic with its device token as the password. */
  | 'printer'

type FeathersMethod = 'find' | 'get' | 'create' | 'update' | 'patch' | 'remove'

/** What the document says of one method of a Feathers service; unset fields come from its `ServiceDoc`. */
export interface OperationDoc {
  summary?: string
  description?: string
  access?: Access
  roles?: readonly string[]
  query?: TSchema
  /** The request body (create: the service's `data`, patch: its `patch`). */
  data?: TSchema
  /** The answer's body (find: a page of the service's `result`); `null` for none. */
  result?: TSchema | null
  /** The success status (create 201, the others 200). */
  status?: number
  /** Takes (and requires) an `Idempotency-Key` header, as checkouts and refunds do. */
  idempotencyKey?: boolean
  /** Error statuses besides those every operation can answer (400, 401/403 with credentials, 404 with an id, 503). */
  errors?: readonly number[]
  /** Called without an id where Feathers would take one (e.g. `DELETE /authentication`). */
  withoutId?: boolean
}

/** A Feathers service as the document describes it: its schemas, and per method what differs. */
export interface ServiceDoc extends Omit<OperationDoc, 'summary' | 'data' | 'withoutId'> {
  /** The tag its operations are grouped under (by default the first segment of its path). */
  tag?: string
  result: TSchema
  data?: TSchema
  patch?: TSchema
  /** `find` answers an array instead of the kit's page (`{total, limit, skip, data}`). */
  unpaginated?: boolean
  /** The schema of the path's `:parameters` (by default a UUID). */
  pathParameters?: Record<string, TSchema>
  methods?: Partial<Record<FeathersMethod, OperationDoc>>
}

/** An answer of a custom route: a JSON body by default, or another content type, or none. */
export interface RouteAnswer {
  description: string
  schema?: TSchema
  contentType?: string
  headers?: Record<string, { description: string; schema: TSchema }>
}

/** A route the app answers with Koa middleware of its own (`answersPath`): described by hand. */
export interface RouteDoc {
  /** In OpenAPI's form, e.g. `/media/{key}`. */
  path: string
  method: 'get' | 'head' | 'post' | 'put' | 'delete'
  summary: string
  description?: string
  tag: string
  access: Access
  pathParameters?: Record<string, TSchema>
  query?: TSchema
  headers?: Record<string, { description: string; schema: TSchema; required?: boolean }>
  body?: { schema: TSchema; contentType?: string }
  answers: Record<number, RouteAnswer>
  errors?: readonly number[]
  /** Served on another port than the API (e.g. `/metrics` on the ops port), as OpenAPI servers. */
  servers?: Array<{ url: string; description: string }>
}

/** A service's API as its package declares it: every Feathers service it registers, and its other routes. */
export interface ApiDescription {
  title: string
  description: string
  /** Where `npm start` serves it, e.g. `http://localhost:3032`. */
  server: string
  services: Record<string, ServiceDoc>
  routes: RouteDoc[]
}

type JsonObject = Record<string, unknown>
export type OpenApiDocument = JsonObject & {
  paths: Record<string, JsonObject>
  components: { schemas: Record<string, JsonObject>; parameters: Record<string, JsonObject> } & JsonObject
}

export const OPENAPI_PATH = '/openapi.json'

const ERROR_NAMES: Record<number, string> = {
  400: 'Bad request: the message names the field',
  401: 'No valid credentials',
  403: 'The caller may not do this',
  404: 'Not found (or not the caller’s)',
  405: 'Method not allowed',
  409: 'Conflict with the current state',
  411: 'Length required',
  415: 'Unsupported media type',
  422: 'Unprocessable: e.g. an Idempotency-Key reused with another body',
  429: 'Too many requests: see Retry-After',
  503: 'A dependency is unavailable'
}

/** The Feathers error every service answers with (see docs/api/conventions.md). */
const errorSchema = {
  type: 'object',
  required: ['name', 'message', 'code', 'className'],
  properties: {
    name: { type: 'string', examples: ['BadRequest'] },
    message: { type: 'string', examples: ['Invalid email: must match format "email"'] },
    code: { type: 'integer', minimum: 400, maximum: 599 },
    className: { type: 'string', examples: ['bad-request'] },
    data: { description: 'Details, e.g. the validation errors of each field' },
    errors: { description: 'Feathers’ field errors, where given' }
  }
}

const securitySchemes = {
  accessToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from user-service’s POST /authentication' },
  deviceToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'mmdev_…',
    description: 'A registered device’s token (POST /devices on user-service)'
  },
  printerBasic: { type: 'http', scheme: 'basic', description: 'CloudPRNT: the device’s id as user name, its device token as password' }
}

const SECURITY: Record<Access, JsonObject[]> = {
  public: [],
  optional: [{}, { accessToken: [] }],
  user: [{ accessToken: [] }],
  userOrDevice: [{ accessToken: [] }, { deviceToken: [] }],
  printer: [{ printerBasic: [] }]
}

const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header',
  required: true,
  description: 'A unique key (1–255 characters) per request; the same key and body again answer the stored answer (header Idempotent-Replayed: true)',
  schema: { type: 'string', minLength: 1, maxLength: 255 }
}

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value)

/**
 * A TypeBox schema as an OpenAPI 3.1 schema (JSON Schema 2020-12): every `$id`'d schema in it goes
 * to `components.schemas` under its `$id` and is referenced from there, draft-07's `dependencies`
 * become `dependentRequired`/`dependentSchemas`. Two different schemas with one `$id` are an error.
 */
const schemaOf = (schema: TSchema, components: Record<string, JsonObject>): JsonObject => {
  const convert = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(convert)
    if (!isObject(node)) return node
    const converted: JsonObject = {}
    for (const [key, value] of Object.entries(node)) {
      if (key === '$id') continue
      if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) converted.$ref = `#/components/schemas/${value}`
      else if (key === 'dependencies' && isObject(value)) {
        for (const [property, dependency] of Object.entries(value)) {
          const target = Array.isArray(dependency) ? 'dependentRequired' : 'dependentSchemas'
          converted[target] = { ...(converted[target] as JsonObject), [property]: convert(dependency) }
        }
      } else converted[key] = convert(value)
    }
    if (typeof node.$id !== 'string') return converted
    const existing = components[node.$id]
    if (existing && JSON.stringify(existing) !== JSON.stringify(converted)) throw new Error(`OpenAPI: two different schemas have the $id ${node.$id}`)
    components[node.$id] = converted
    return { $ref: `#/components/schemas/${node.$id}` }
  }
  // JSON drops TypeBox's symbols (Kind, Optional) and anything else JSON Schema has no place for.
  return convert(JSON.parse(JSON.stringify(schema))) as JsonObject
}

const jsonContent = (schema: JsonObject) => ({ 'application/json': { schema } })

/** The Feathers error answers, once in `components.responses` (`Error400`, …), which operations refer to. */
const errorResponses = Object.fromEntries(
  Object.entries(ERROR_NAMES).map(([status, description]) => [
    `Error${status}`,
    { description, content: jsonContent({ $ref: '#/components/schemas/Error' }) }
  ])
)

const errorAnswers = (statuses: Iterable<number>) =>
  Object.fromEntries(
    [...new Set(statuses)].sort().map((status) => {
      if (!ERROR_NAMES[status]) throw new Error(`OpenAPI: no description of the error status ${status}`)
      return [status, { $ref: `#/components/responses/Error${status}` }]
    })
  )

/** `node` with every subtree equal to `target` replaced by `replacement`. */
const replaced = (node: unknown, target: string, replacement: JsonObject): unknown => {
  if (JSON.stringify(node) === target) return replacement
  if (Array.isArray(node)) return node.map((item) => replaced(item, target, replacement))
  if (!isObject(node)) return node
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, replaced(value, target, replacement)]))
}

/**
 * The properties a query schema allows, each an OpenAPI query parameter (objects and arrays in qs'
 * bracket syntax, `price[$gt]=100`), kept once in `components.parameters` as `<name>.<property>`:
 * a service's methods share its query. The field filters of `publicQuerySyntax` (what one item of
 * `$or` takes), which `$or` and `$and` repeat, become the schema `<name>Filter`.
 */
const queryParameters = (document: OpenApiDocument, query: TSchema, fallbackName: string): JsonObject[] => {
  const { schemas, parameters } = document.components
  const name = (query.$id as string | undefined) ?? fallbackName
  const properties: Record<string, JsonObject> = {}
  const required = new Set<string>()
  const collect = (node: JsonObject) => {
    if (typeof node.$ref === 'string') return collect(schemas[node.$ref.split('/').pop()!])
    Object.assign(properties, node.properties)
    for (const property of (node.required as string[] | undefined) ?? []) required.add(property)
    for (const member of (node.allOf as JsonObject[] | undefined) ?? []) collect(member)
  }
  collect(schemaOf(query, schemas))
  const orItems = properties.$or?.items
  const filter = isObject(orItems) && isObject(orItems.properties) ? orItems : undefined
  const withFilter = (schema: JsonObject) =>
    filter ? (replaced(schema, JSON.stringify(filter), { $ref: `#/components/schemas/${name}Filter` }) as JsonObject) : schema
  if (filter) schemas[`${name}Filter`] = filter
  return Object.entries(properties).map(([property, schema]) => {
    const scalar = ['string', 'number', 'integer', 'boolean'].includes(schema.type as string)
    const parameter = {
      name: property,
      in: 'query',
      required: required.has(property),
      ...(property === '$select' ? { description: 'Only these fields in the answer (its other fields, required or not, are left out)' } : {}),
      schema: property.startsWith('$') ? withFilter(schema) : schema,
      ...(scalar ? {} : { style: 'deepObject', explode: true })
    }
    const key = `${name}.${property.replace(/^\$/, '_')}`
    if (parameters[key] && JSON.stringify(parameters[key]) !== JSON.stringify(parameter))
      throw new Error(`OpenAPI: two different query parameters ${key}`)
    parameters[key] = parameter
    return { $ref: `#/components/parameters/${key}` }
  })
}

const pathParameters = (names: string[], schemas: Record<string, JsonObject>) =>
  names.map((name) => ({ name, in: 'path', required: true, schema: schemas[name] ?? { type: 'string', format: 'uuid' } }))

const words = (path: string) =>
  path
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word && !word.startsWith(':'))
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join('')

const OPERATIONS: Record<FeathersMethod, { verb: string; withId: boolean; summary: string }> = {
  find: { verb: 'get', withId: false, summary: 'List' },
  get: { verb: 'get', withId: true, summary: 'Get one of' },
  create: { verb: 'post', withId: false, summary: 'Create' },
  update: { verb: 'put', withId: true, summary: 'Replace one of' },
  patch: { verb: 'patch', withId: true, summary: 'Change one of' },
  remove: { verb: 'delete', withId: true, summary: 'Remove one of' }
}

/** Adds one OpenAPI operation at `path` for `verb`; a second one there is a mistake in the description. */
const addOperation = (document: OpenApiDocument, path: string, verb: string, operation: JsonObject) => {
  const item = (document.paths[path] ??= {})
  if (item[verb]) throw new Error(`OpenAPI: ${verb.toUpperCase()} ${path} is described twice`)
  item[verb] = operation
}

/**
 * The app's OpenAPI 3.1 document: every Feathers service it registers, each method it exposes
 * (`getServiceOptions(service).methods`) from the schemas its `ServiceDoc` names, and the routes of
 * its own middleware. A registered service without a description, or a described one the app does
 * not register, is an error: the document cannot drift from the app.
 */
export const openApiDocument = (app: ServiceApplication, api: ApiDescription): OpenApiDocument => {
  const schemas: Record<string, JsonObject> = { Error: errorSchema }
  const document: OpenApiDocument = {
    openapi: '3.1.0',
    info: { title: api.title, version: '1.0.0', description: api.description, license: { name: 'MIT', identifier: 'MIT' } },
    servers: [{ url: api.server, description: '`npm start`' }],
    paths: {},
    components: { schemas, parameters: {}, responses: errorResponses, securitySchemes }
  }
  const registered = Object.keys(app.services)
  const undescribed = registered.filter((path) => !api.services[path])
  const unregistered = Object.keys(api.services).filter((path) => !registered.includes(path))
  if (undescribed.length + unregistered.length > 0) {
    throw new Error(
      `OpenAPI of ${api.title}: undescribed services [${undescribed.join(', ')}], described but not registered [${unregistered.join(', ')}]`
    )
  }

  for (const [servicePath, service] of Object.entries(api.services)) {
    const parameterNames = [...servicePath.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1])
    const basePath = `/${servicePath.replace(/:([A-Za-z]+)/g, '{$1}')}`
    const parameterSchemas = Object.fromEntries(
      Object.entries(service.pathParameters ?? {}).map(([name, schema]) => [name, schemaOf(schema, schemas)])
    )
    const result = schemaOf(service.result, schemas)
    const resultName = (service.result.$id as string | undefined) ?? words(servicePath)
    for (const method of getServiceOptions((app.services as unknown as Record<string, object>)[servicePath]).methods as FeathersMethod[]) {
      const shape = OPERATIONS[method]
      if (!shape) throw new Error(`OpenAPI of ${api.title}: ${servicePath} exposes ${method}, which has no HTTP mapping here`)
      const own = service.methods?.[method] ?? {}
      const withId = shape.withId && !own.withoutId
      const access = own.access ?? service.access ?? 'user'
      const roles = 'roles' in own ? own.roles : service.roles
      const query = own.query ?? service.query
      const data = own.data ?? (method === 'patch' ? service.patch : method === 'create' || method === 'update' ? service.data : undefined)
      let answer: JsonObject | null
      if (own.result !== undefined) answer = own.result === null ? null : schemaOf(own.result, schemas)
      else if (method === 'find' && !service.unpaginated) {
        schemas[`${resultName}Page`] = {
          type: 'object',
          required: ['total', 'limit', 'skip', 'data'],
          properties: { total: { type: 'integer' }, limit: { type: 'integer' }, skip: { type: 'integer' }, data: { type: 'array', items: result } }
        }
        answer = { $ref: `#/components/schemas/${resultName}Page` }
      } else answer = method === 'find' ? { type: 'array', items: result } : result
      const status = own.status ?? (method === 'create' ? 201 : 200)
      const path = withId ? `${basePath}/{id}` : basePath
      // 503: the database or a dependency did not answer in time (see docs/api/conventions.md#errors).
      const errors = [
        400,
        ...(access === 'public' ? [] : [401]),
        ...(roles?.length ? [403] : []),
        ...(withId || parameterNames.length ? [404] : []),
        503
      ]
      const idempotencyKey = own.idempotencyKey ?? service.idempotencyKey
      addOperation(document, path, shape.verb, {
        operationId: `${method}${words(servicePath)}`,
        tags: [service.tag ?? servicePath.split('/')[0]],
        summary: own.summary ?? `${shape.summary} ${servicePath}`,
        ...((own.description ?? service.description) ? { description: own.description ?? service.description } : {}),
        ...(roles?.length ? { 'x-roles': roles } : {}),
        security: SECURITY[access],
        parameters: [
          ...pathParameters(withId ? [...parameterNames, 'id'] : parameterNames, parameterSchemas),
          ...(query ? queryParameters(document, query, `${words(servicePath)}Query`) : []),
          ...(idempotencyKey ? [IDEMPOTENCY_KEY] : [])
        ],
        ...(data ? { requestBody: { required: true, content: jsonContent(schemaOf(data, schemas)) } } : {}),
        responses: {
          [status]: { description: 'Success', ...(answer ? { content: jsonContent(answer) } : {}) },
          ...errorAnswers([...errors, ...(own.errors ?? service.errors ?? []), ...(idempotencyKey ? [409, 422] : [])])
        }
      })
    }
  }

  for (const route of api.routes) {
    const parameterNames = [...route.path.matchAll(/\{([A-Za-z]+)\}/g)].map((match) => match[1])
    const parameterSchemas = Object.fromEntries(Object.entries(route.pathParameters ?? {}).map(([name, schema]) => [name, schemaOf(schema, schemas)]))
    addOperation(document, route.path, route.method, {
      operationId: `${route.method}${words(route.path)}`,
      tags: [route.tag],
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.servers ? { servers: route.servers } : {}),
      security: SECURITY[route.access],
      parameters: [
        ...pathParameters(parameterNames, parameterSchemas),
        ...(route.query ? queryParameters(document, route.query, `${route.method}${words(route.path)}Query`) : []),
        ...Object.entries(route.headers ?? {}).map(([name, header]) => ({
          name,
          in: 'header',
          required: header.required ?? false,
          description: header.description,
          schema: schemaOf(header.schema, schemas)
        }))
      ],
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { [route.body.contentType ?? 'application/json']: { schema: schemaOf(route.body.schema, schemas) } }
            }
          }
        : {}),
      responses: {
        ...Object.fromEntries(
          Object.entries(route.answers).map(([status, answer]) => [
            status,
            {
              description: answer.description,
              ...(answer.headers
                ? {
                    headers: Object.fromEntries(
                      Object.entries(answer.headers).map(([name, header]) => [
                        name,
                        { description: header.description, schema: schemaOf(header.schema, schemas) }
                      ])
                    )
                  }
                : {}),
              ...(answer.schema || answer.contentType
                ? { content: { [answer.contentType ?? 'application/json']: { schema: answer.schema ? schemaOf(answer.schema, schemas) : {} } } }
                : {})
            }
          ])
        ),
        ...errorAnswers([...(route.access === 'public' ? [] : [401, 503]), ...(route.errors ?? [])])
      }
    })
  }
  return document
}

/**
 * The services' documents as one: each path keeps its service's server (path-level `servers`), a
 * path several services answer alike (`/health`) lists all their servers, and one they answer
 * differently (`/authentication`) is the first service's, as the services are listed.
 */
export const mergeOpenApiDocuments = (info: { title: string; description: string }, documents: OpenApiDocument[]): OpenApiDocument => {
  const merged: OpenApiDocument = {
    openapi: '3.1.0',
    info: { ...info, version: '1.0.0', license: { name: 'MIT', identifier: 'MIT' } },
    paths: {},
    components: { schemas: {}, parameters: {}, responses: errorResponses, securitySchemes }
  }
  const serversOf = (document: OpenApiDocument) =>
    (document.servers as JsonObject[]).map((server) => ({ ...server, description: `${(document.info as JsonObject).title}` }))
  for (const document of documents) {
    for (const kind of ['schemas', 'parameters'] as const) {
      for (const [name, component] of Object.entries(document.components[kind])) {
        const existing = merged.components[kind][name]
        if (existing && JSON.stringify(existing) !== JSON.stringify(component)) {
          throw new Error(`OpenAPI: two services have different ${kind} named ${name}; give one another name`)
        }
        merged.components[kind][name] = component
      }
    }
    for (const [path, item] of Object.entries(document.paths)) {
      const existing = merged.paths[path]
      if (!existing) merged.paths[path] = { servers: serversOf(document), ...item }
      else if (JSON.stringify({ ...existing, servers: undefined }) === JSON.stringify({ ...item, servers: undefined })) {
        existing.servers = [...(existing.servers as JsonObject[]), ...serversOf(document)]
      }
    }
  }
  return merged
}

/** `GET /openapi.json`: the app's document, public, built once at the first request. */
export const servesOpenApi = (app: ServiceApplication, api: ApiDescription) => {
  let document: OpenApiDocument | undefined
  const route: Middleware = async (ctx, next) => {
    if (ctx.path !== OPENAPI_PATH || ctx.method !== 'GET') return next()
    document ??= openApiDocument(app, api)
    ctx.body = document
  }
  app.use(route)
  answersPath(app, OPENAPI_PATH)
}
