import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AnswerChecker, type OpenApiPaths } from '@marketmesh/test-support/openapi'
import { Validator } from '@seriousme/openapi-schema-validator'
import { beforeAll, describe, expect, it } from 'vitest'
import { OPENAPI_DIR, OPENAPI_SERVICES, openApiFiles } from '../scripts/openapi.mjs'

interface RouteTable {
  routes: Array<{ path: string; methods: string[] }>
  httpPaths: string[]
}
interface Document {
  paths: Record<string, Record<string, { operationId: string; servers?: unknown[] }>>
}

const VERBS = ['get', 'head', 'post', 'put', 'patch', 'delete']
// Feathers' REST mapping of a service's methods (what @feathersjs/koa's rest() answers).
const HTTP_OF: Record<string, { verb: string; withId: boolean }> = {
  find: { verb: 'get', withId: false },
  get: { verb: 'get', withId: true },
  create: { verb: 'post', withId: false },
  update: { verb: 'put', withId: true },
  patch: { verb: 'patch', withId: true },
  remove: { verb: 'delete', withId: true }
}
// Feathers' authentication service is removed with the token of the request, not an id (DELETE /authentication).
const WITHOUT_ID = new Set(['authentication remove'])
// On the ops port, not the app's (see packages/shared/src/ops-server.ts).
const OPS_PATHS = ['/metrics']

const read = (name: string) => readFileSync(join(OPENAPI_DIR, name), 'utf8')
const documentOf = (service: string): Document => JSON.parse(read(`${service}.json`))
/** The routes a service's app registers, read from the app itself (as the fuzz suite reads them). */
const routeTableOf = (service: string): RouteTable =>
  JSON.parse(
    execFileSync(process.execPath, [join(__dirname, 'fuzz', 'routes.mjs'), service], {
      encoding: 'utf8',
      env: { ...process.env, LOG_LEVEL: 'silent' }
    })
  )

const operationsOf = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((verb) => VERBS.includes(verb))
      .map((verb) => `${verb.toUpperCase()} ${path}`)
  )

let generated: Record<string, string>
beforeAll(() => {
  generated = openApiFiles()
}, 60_000)

describe('docs/openapi', () => {
  it('is what `npm run docs:openapi` writes from the services today', () => {
    expect(Object.keys(generated).sort()).toEqual([...OPENAPI_SERVICES.map((service) => `${service}.json`), 'marketmesh.json'].sort())
    for (const [name, content] of Object.entries(generated))
      expect(read(name), `run \`npm run docs:openapi\` and commit docs/openapi/${name}`).toBe(content)
  })

  it.each([...OPENAPI_SERVICES, 'marketmesh'])('%s.json is a valid OpenAPI 3.1 document', async (name) => {
    const validator = new Validator()
    const result = await validator.validate(JSON.parse(read(`${name}.json`)))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
  })

  it.each(OPENAPI_SERVICES)('%s: every route its app registers is documented, and every documented route is registered', (service) => {
    const { routes, httpPaths } = routeTableOf(service)
    const documented = operationsOf(documentOf(service))
    const expected = routes.flatMap(({ path, methods }) =>
      methods.map((method) => {
        const { verb, withId } = HTTP_OF[method]
        const template = `/${path.replace(/:([A-Za-z]+)/g, '{$1}')}${withId && !WITHOUT_ID.has(`${path} ${method}`) ? '/{id}' : ''}`
        return `${verb.toUpperCase()} ${template}`
      })
    )
    // Every method of every Feathers service, at the path and verb Feathers answers it.
    expect(documented).toEqual(expect.arrayContaining(expected))
    // Every path of the app's own middleware has at least one operation at or under it.
    for (const path of httpPaths)
      expect(
        documented.some((operation) => operation.split(' ')[1].match(new RegExp(`^${path}(/|$)`))),
        path
      ).toBe(true)
    // And nothing else: each documented operation is a service's method or under a path of the app's own middleware.
    const unknown = documented.filter((operation) => {
      const path = operation.split(' ')[1]
      return !expected.includes(operation) && !OPS_PATHS.includes(path) && !httpPaths.some((own) => path === own || path.startsWith(`${own}/`))
    })
    expect(unknown).toEqual([])
  })

  it('marketmesh.json has every operation of the four, each under its service’s server; /authentication is user-service’s login', () => {
    const merged = JSON.parse(read('marketmesh.json')) as Document
    for (const service of OPENAPI_SERVICES) {
      const own = documentOf(service)
      for (const operation of operationsOf(own)) expect(operationsOf(merged), `${service}: ${operation}`).toContain(operation)
      const [path] = Object.keys(own.paths).filter(
        (path) => path !== '/authentication' && !['/health', '/ready', '/openapi.json', '/metrics'].includes(path)
      )
      expect(merged.paths[path].servers, path).toEqual([expect.objectContaining({ description: service })])
    }
    expect(merged.paths['/health'].servers).toHaveLength(4)
    expect(merged.paths['/authentication'].post.operationId).toBe(documentOf('user-service').paths['/authentication'].post.operationId)
    expect(JSON.stringify(merged.paths['/authentication'])).toContain('Log in')
  })

  it('documents the Feathers error shape, the auth schemes and the Idempotency-Key', () => {
    const order = JSON.parse(read('order-service.json'))
    expect(order.components.schemas.Error).toMatchObject({ required: ['name', 'message', 'code', 'className'] })
    const checkout = order.paths['/checkouts'].post
    expect(checkout.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }))
    expect(Object.keys(checkout.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '409', '422']))
    expect(checkout.responses['400']).toEqual({ $ref: '#/components/responses/Error400' })
    expect(order.components.responses.Error400.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' })
    expect(checkout.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CheckoutData' })
    const notify = JSON.parse(read('notify-service.json'))
    expect(Object.keys(notify.components.securitySchemes).sort()).toEqual(['accessToken', 'deviceToken', 'printerBasic'])
    expect(notify.paths['/cloudprnt'].post.security).toEqual([{ printerBasic: [] }])
    expect(notify.paths['/print-jobs/{id}'].patch.security).toEqual([{ accessToken: [] }, { deviceToken: [] }])
    // A Feathers query in qs' bracket syntax: price[$gt]=100.
    const catalog = JSON.parse(read('catalog-service.json'))
    expect(catalog.paths['/products'].get.parameters).toContainEqual({ $ref: '#/components/parameters/ProductsQuery.price' })
    expect(catalog.components.parameters['ProductsQuery.price']).toMatchObject({ in: 'query', style: 'deepObject', explode: true })
    expect(catalog.components.parameters['ProductsQuery._or'].schema).toEqual({
      type: 'array',
      items: { $ref: '#/components/schemas/ProductsQueryFilter' }
    })
  })

  it('AnswerChecker (what the journey checks its answers with) takes answers as documented and names what is not', () => {
    const checker = new AnswerChecker(JSON.parse(read('order-service.json')) as OpenApiPaths)
    const json = 'application/json; charset=utf-8'
    const error = { name: 'NotFound', message: 'No record found', code: 404, className: 'not-found' }
    expect(
      checker.check({ method: 'GET', path: `/orders/${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`, status: 404, contentType: json, body: error })
    ).toEqual([])
    expect(
      checker.check({ method: 'GET', path: '/health', status: 200, contentType: json, body: { status: 'ok', service: 'order-service' } })
    ).toEqual([])
    expect(
      checker.check({ method: 'GET', path: '/payouts', status: 200, contentType: json, body: { total: 0, limit: 10, skip: 0, data: [] } })
    ).toEqual([])
    const problems = checker.check({ method: 'GET', path: '/payouts', status: 200, contentType: json, body: { total: 0, data: [{ id: 'x' }] } })
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining("(body) must have required property 'limit'"),
        expect.stringContaining("/data/0 must have required property 'sellerId'"),
        expect.stringContaining('/data/0/id must match format "uuid"')
      ])
    )
    expect(checker.check({ method: 'POST', path: '/checkouts', status: 400, contentType: json, body: { message: 'no name' } })).toEqual([
      expect.stringContaining("must have required property 'name'"),
      expect.stringContaining("must have required property 'code'"),
      expect.stringContaining("must have required property 'className'")
    ])
    // With $select, only what was selected: the missing required fields are no problem, a wrong type still is.
    const page = (data: unknown[]) => ({ total: 1, limit: 10, skip: 0, data })
    const selected = { method: 'GET', path: '/payouts', status: 200, contentType: json }
    expect(checker.check({ ...selected, query: '%24select%5B%5D=id', body: page([{ id: randomUUID() }]) })).toEqual([])
    expect(checker.check({ ...selected, query: '$select[]=id', body: page([{ id: 7 }]) })).toEqual([
      expect.stringContaining('/data/0/id must be string')
    ])
    expect(checker.check({ ...selected, body: page([{ id: randomUUID() }]) })).not.toEqual([])
    expect(checker.check({ method: 'GET', path: '/payouts', status: 418, contentType: json, body: {} })).toEqual([
      expect.stringContaining('status not documented')
    ])
    expect(checker.check({ method: 'GET', path: '/nowhere', status: 200, contentType: json, body: {} })).toEqual([
      expect.stringContaining('no such operation')
    ])
  })
})
