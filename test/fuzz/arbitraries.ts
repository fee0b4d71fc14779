import fc from 'fast-check'
import { encodeQuery, encodeText } from './encode'
import { INTERNAL_NAMES } from '@marketmesh/test-support/leaks'

/** What a generated request may use: the routes the app registers, and what seeding left behind. */
export interface Target {
  routes: Array<{ path: string; methods: string[] }>
  httpPaths: readonly string[]
  /** Ids that exist, per service path. */
  ids: Record<string, string[]>
  /** Field names seen in records, per service path. */
  fields: Record<string, string[]>
  /** Records and the bodies that made them, per service path: valid input to start mutating from. */
  examples: Record<string, Array<Record<string, unknown>>>
  credentials: readonly string[]
}

export interface FuzzRequest {
  method: string
  /** Path and query string, encoded. */
  url: string
  credential: string
  headers: Record<string, string>
  body?: string
}

const HUGE = 'x'.repeat(1_100_000)

/** Text a careless client or an attacker sends: wrong types spelled as text, edge numbers, NUL bytes, control characters, injections. */
const awkwardText = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '%',
    '%00',
    '\\',
    "'",
    '"',
    "' OR 1=1 --",
    '"; DROP TABLE users; --',
    'null',
    'undefined',
    'true',
    'false',
    '-1',
    '0',
    '1.5',
    '1e309',
    '-1e309',
    'NaN',
    'Infinity',
    '2147483648',
    '-2147483649',
    '9007199254740993',
    '99999999999999999999999999',
    '0x10',
    '\ud800',
    '\uffff',
    '\u202e',
    // Printer commands and text that hides what it holds: every free-text field refuses them with a 400.
    'Main St 1\u001bp022',
    '\u001dV1',
    'a\nb',
    'a\r\nb',
    '\t',
    '\u007f',
    '\u0085',
    '\u009b',
    '\u00ad',
    '\u200b',
    '\u2066x\u2069',
    '\u2028',
    '\ufeff',
    'a\u200db',
    'é',
    '🙂',
    '__proto__',
    'constructor',
    'toString',
    '$select',
    '<script>alert(1)</script>',
    '../../etc/passwd',
    '2024-13-45',
    '0000-00-00',
    '2024-01-01T00:00:00Z',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffffff',
    'a'.repeat(300),
    'b'.repeat(10_000),
    '*',
    '&',
    '=',
    '[]',
    '{}',
    'active',
    'archived',
    'buyer',
    'seller',
    'admin',
    'EUR',
    'relevance',
    '-price'
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.uuid()
)

const awkwardNumber = fc.oneof(
  fc.constantFrom(0, -1, 1, 1.5, 2_147_483_647, 2_147_483_648, -2_147_483_649, Number.MAX_SAFE_INTEGER, 1e21, 1e308, -1e308, 5e-324),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)

const OPERATORS = [
  '$select',
  '$sort',
  '$limit',
  '$skip',
  '$or',
  '$and',
  '$in',
  '$nin',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$ne',
  '$like',
  '$ilike',
  '$notlike',
  '$notILike',
  '$eager',
  '$joinRelation',
  '$modify',
  '$populate',
  '$search',
  '$regex',
  '$exists',
  '$text'
]

const COMMON_FIELDS = [
  'id',
  'q',
  'categoryId',
  'minPrice',
  'maxPrice',
  'attributes',
  'inStock',
  'sort',
  'status',
  'productId',
  'buyerId',
  'orderId',
  'sellerId',
  'parentId',
  'email',
  'role',
  'name',
  'price',
  'stock',
  'title',
  'createdAt',
  'strategy',
  'refreshToken',
  'ratings',
  'comment',
  'displayName'
]

export const requestArbitrary = (target: Target): fc.Arbitrary<FuzzRequest> => {
  const knownIds = Object.values(target.ids).flat()
  /** An id of `path`'s records, as `path/:id` and a parameter after `path` take (`products` in `products/:productId/images`). */
  const idOf = (path: string) =>
    fc.oneof(
      { weight: 4, arbitrary: target.ids[path]?.length ? fc.constantFrom(...target.ids[path]) : fc.uuid() },
      { weight: 1, arbitrary: knownIds.length ? fc.constantFrom(...knownIds) : fc.uuid() },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 2, arbitrary: awkwardText.filter((text) => text !== '') }
    )

  const keyOf = (path: string) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...(target.fields[path] ?? []), ...COMMON_FIELDS) },
      { weight: 2, arbitrary: fc.constantFrom(...OPERATORS) },
      { weight: 1, arbitrary: fc.constantFrom(...INTERNAL_NAMES, 'password') },
      { weight: 1, arbitrary: awkwardText }
    )

  const valueOf = (path: string) =>
    fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        { weight: 4, arbitrary: awkwardText },
        { weight: 2, arbitrary: awkwardNumber },
        { weight: 1, arbitrary: fc.constantFrom(true, false, null) },
        { weight: 2, arbitrary: idOf(path) },
        { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }) },
        { weight: 1, arbitrary: fc.dictionary(keyOf(path), tie('value'), { maxKeys: 4 }) }
      )
    })).value

  /** `$in` with many ids, `$select` of internal columns, `$sort` and `$limit` at their edges. */
  const operatorQuery = (path: string) =>
    fc.oneof(
      fc.record({ id: fc.record({ $in: fc.array(idOf(path), { minLength: 1, maxLength: 300 }) }) }),
      fc.record({
        $select: fc.array(fc.constantFrom(...INTERNAL_NAMES, 'password', ...(target.fields[path] ?? []), 'nope'), { minLength: 1, maxLength: 4 })
      }),
      fc.record({ $sort: fc.dictionary(keyOf(path), fc.oneof(fc.constantFrom('1', '-1', '0', '2', 'asc'), awkwardText), { maxKeys: 3 }) }),
      fc.record({ $limit: fc.oneof(awkwardNumber.map(String), awkwardText), $skip: fc.oneof(awkwardNumber.map(String), awkwardText) }),
      fc.record({ $or: fc.array(fc.dictionary(keyOf(path), valueOf(path), { maxKeys: 2 }), { maxLength: 3 }) }),
      fc.dictionary(keyOf(path), fc.dictionary(fc.constantFrom(...OPERATORS), valueOf(path), { maxKeys: 2 }), { maxKeys: 2 })
    )

  const examplesOf = (path: string) => target.examples[path] ?? []
  const exampleValue = (path: string) => fc.constantFrom(...examplesOf(path)).chain((example) => fc.constantFrom(...Object.entries(example)))

  /** A query that could be right: real fields with real values, operators, paging, sorting, selecting. */
  const plausibleQuery = (path: string) =>
    fc
      .record(
        {
          filters: fc.array(
            exampleValue(path).chain(([field, value]) =>
              fc.oneof(
                fc.constant([field, value]),
                fc.constant([field, { $ne: value }]),
                fc.constant([field, { $gt: value }]),
                fc.tuple(idOf(path)).map(([other]) => [field, { $in: [value, other] }])
              )
            ),
            { maxLength: 2 }
          ),
          $limit: fc.integer({ min: 0, max: 200 }),
          $skip: fc.integer({ min: 0, max: 5 }),
          $sort: fc.constantFrom(...(target.fields[path] ?? ['id'])).chain((field) => fc.constantFrom({ [field]: 1 }, { [field]: -1 })),
          $select: fc.subarray(target.fields[path] ?? [], { minLength: 1 })
        },
        { requiredKeys: [] }
      )
      .map(({ filters = [], ...options }) => ({ ...Object.fromEntries(filters as Array<[string, unknown]>), ...options }))

  // A query string is mostly encoded from a value, sometimes broken on purpose. Writes mostly take none.
  const queryOf = (path: string, write = false) =>
    fc
      .tuple(
        fc.oneof(
          { weight: write ? 20 : 2, arbitrary: fc.constant({}) },
          { weight: 3, arbitrary: fc.dictionary(keyOf(path), valueOf(path), { maxKeys: 4 }) },
          { weight: 3, arbitrary: operatorQuery(path) },
          ...(examplesOf(path).length ? [{ weight: 4, arbitrary: plausibleQuery(path) }] : [])
        ),
        fc.oneof(
          { weight: 8, arbitrary: fc.constant(undefined) },
          {
            weight: 1,
            arbitrary: fc.constantFrom(
              '%00=1',
              'a[[=1',
              '=',
              '&&',
              'a=%',
              'a=%FF%FE',
              'a=%C0%80',
              'a[b][c][d][e][f][g][h]=deep',
              '$limit=1&$limit=2',
              'q'
            )
          }
        )
      )
      .map(([value, raw]) => {
        const encoded = [encodeQuery(value as Record<string, unknown>), raw].filter(Boolean).join('&')
        return encoded ? `?${encoded}` : ''
      })

  const recordLike = (path: string) => fc.dictionary(keyOf(path), valueOf(path), { maxKeys: 6 })

  /** An example, whole or in part, with a field or two changed or added: past the schemas, into the hooks. */
  const mutatedExample = (path: string) =>
    fc
      .tuple(
        fc.constantFrom(...examplesOf(path)),
        // Which of the example's fields stay: all of them, or a random part.
        fc.oneof(
          { weight: 2, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }) }
        ),
        fc.oneof(
          { weight: 2, arbitrary: fc.constant([]) },
          { weight: 3, arbitrary: fc.array(fc.tuple(keyOf(path), valueOf(path)), { minLength: 1, maxLength: 2 }) }
        )
      )
      .map(([example, kept, changes]) => ({
        ...Object.fromEntries(Object.entries(example).filter((_, index) => kept?.[index % kept.length] ?? true)),
        ...Object.fromEntries(changes)
      }))

  const bodyOf = (path: string) =>
    fc.oneof(
      ...(examplesOf(path).length ? [{ weight: 6, arbitrary: mutatedExample(path).map((value) => JSON.stringify(value)) }] : []),
      { weight: 3, arbitrary: recordLike(path).map((value) => JSON.stringify(value)) },
      { weight: 1, arbitrary: fc.array(recordLike(path), { maxLength: 3 }).map((value) => JSON.stringify(value)) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '{',
          '{"a":',
          'nul',
          '\u0000',
          '[1,2',
          '{"a":1}}',
          '',
          ' ',
          '"text"',
          '1',
          'null',
          '[]',
          '{"__proto__":{"admin":true}}',
          `{"title":"${HUGE}"}`,
          `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
          `{"a":${'{"a":'.repeat(2_000)}1${'}'.repeat(2_000)}}`
        )
      }
    )

  const credential = fc.constantFrom(...target.credentials)
  const extraHeaders = fc.oneof(
    { weight: 6, arbitrary: fc.constant({}) },
    {
      weight: 1,
      arbitrary: fc.record({
        'X-Request-Id': fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 200 })
      })
    },
    {
      weight: 1,
      arbitrary: fc.record({
        'Content-Type': fc.constantFrom(
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data',
          'application/json; charset=latin1',
          'application/xml'
        )
      })
    },
    { weight: 1, arbitrary: fc.record({ 'Last-Event-ID': fc.constantFrom('-1', '0', 'abc', '99999999999999999999', '1e3') }) },
    { weight: 2, arbitrary: fc.record({ 'Idempotency-Key': fc.oneof(fc.uuid(), fc.constantFrom('', 'x'.repeat(256), 'same-key')) }) }
  )

  /** A route's path with each `:param` filled in, mostly with an id of the path before it (`conversations/:conversationId/messages`). */
  const filledPath = (path: string) => {
    const parts = path.split('/')
    const filled = parts.map((part, index) => (part.startsWith(':') ? idOf(parts.slice(0, index).join('/')).map(encodeText) : fc.constant(part)))
    return fc.tuple(...filled).map((segments) => `/${segments.join('/')}`)
  }

  /** One HTTP form of a Feathers method (a custom one is a POST naming it): mostly the route's own, the rest must be 405s. */
  const serviceRequest = fc.constantFrom(...target.routes).chain((route) => {
    const all = ['find', 'get', 'create', 'update', 'patch', 'patchMany', 'remove', 'removeMany']
    const forms = [...all, ...route.methods.flatMap((method) => [method, method, method, method])]
    return fc.tuple(fc.constantFrom(...forms), filledPath(route.path)).chain(([form, base]) => {
      const withId = idOf(route.path).map((id) => `${base}/${encodeText(id)}`)
      const hasBody = !['find', 'get', 'remove', 'removeMany'].includes(form)
      const methodOf: Record<string, string> = {
        find: 'GET',
        get: 'GET',
        create: 'POST',
        update: 'PUT',
        patch: 'PATCH',
        patchMany: 'PATCH',
        remove: 'DELETE',
        removeMany: 'DELETE'
      }
      return fc
        .record({
          path: ['get', 'update', 'patch', 'remove'].includes(form) ? withId : fc.constant(base),
          query: queryOf(route.path, !['find', 'get'].includes(form)),
          body: hasBody ? fc.option(bodyOf(route.path), { freq: 8, nil: undefined }) : fc.constant(undefined),
          credential,
          headers: extraHeaders
        })
        .map(({ path, query, body, credential, headers }) => ({
          method: methodOf[form] ?? 'POST',
          url: `${path}${query}`,
          credential,
          headers: methodOf[form] ? headers : { ...headers, 'X-Service-Method': form },
          body
        }))
    })
  })

  const httpPathRequest = fc.record({
    method: fc.constantFrom('GET', 'GET', 'POST', 'HEAD', 'OPTIONS'),
    url: fc.tuple(fc.constantFrom(...target.httpPaths), queryOf('http')).map(([path, query]) => `${path}${query}`),
    credential,
    headers: extraHeaders,
    body: fc.constant(undefined)
  })

  const strayRequest = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
    url: fc.oneof(
      fc.constantFrom(
        '/',
        '/nope',
        '/%00',
        '/..%2f..%2fetc%2fpasswd',
        `/${'x'.repeat(5_000)}`,
        '/products/a/b/c',
        '//users',
        '/users/',
        '/users%2f1',
        '/%E0%A4%A'
      ),
      awkwardText.map((text) => `/${encodeText(text)}`)
    ),
    credential,
    headers: extraHeaders,
    body: fc.option(bodyOf('stray'), { nil: undefined })
  })

  return fc.oneof({ weight: 16, arbitrary: serviceRequest }, { weight: 2, arbitrary: httpPathRequest }, { weight: 1, arbitrary: strayRequest })
}
