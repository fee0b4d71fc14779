import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { waitFor } from '@marketmesh/test-support'
import { admin, seller, startCatalog, type Catalog } from './helpers'

interface Fixture {
  key: string
  title: string
  description: string
  price: number
  category: 'chairs' | 'tables' | 'lighting'
  attributes: Record<string, string | number | boolean>
  stock: number
}

// The products a buyer can find; below them, three that must never show up.
const listed: Fixture[] = [
  {
    key: 'diningChair',
    title: 'Oak dining chair',
    description: 'Sturdy seat for the dining room',
    price: 12_000,
    category: 'chairs',
    attributes: { color: 'brown', material: 'oak', seats: 1 },
    stock: 4
  },
  {
    key: 'stool',
    title: 'Pine stool',
    description: 'A stool with legs of solid oak',
    price: 3_000,
    category: 'chairs',
    attributes: { color: 'natural', material: 'pine' },
    stock: 0
  },
  {
    key: 'glassTable',
    title: 'Glass table',
    description: 'Round table with a steel frame',
    price: 25_000,
    category: 'tables',
    attributes: { color: 'clear', material: 'glass' },
    stock: 2
  },
  {
    key: 'lamp',
    title: 'Reading lamp',
    description: 'Brass lamp with a linen shade',
    price: 8_000,
    category: 'lighting',
    attributes: { color: 'brass', bulbs: 1, dimmable: true },
    stock: 7
  },
  {
    key: 'sideTable',
    title: 'Oak side table',
    description: 'Small table for the sofa',
    price: 9_000,
    category: 'tables',
    attributes: { color: 'brown', material: 'oak' },
    stock: 1
  }
]

let catalog: Catalog
const ids: Record<string, string> = {}
const categories: Record<string, string> = {}
const shop = seller()

const search = async (query: string) => {
  const response = await catalog.call('GET', `/search?${query}`)
  expect(response.status, JSON.stringify(response.body)).toBe(200)
  return response.body
}
const keysOfIds = (result: { data: Array<{ id: string }> }) => result.data.map((product) => product.id).sort()
const keysOf = (result: { data: Array<{ id: string }> }) => result.data.map((product) => Object.keys(ids).find((key) => ids[key] === product.id))

/** The facets, counted here from the fixtures, of the listed products that `keep` selects. */
const expectedFacets = (keep: (fixture: Fixture) => boolean) => {
  const matching = listed.filter(keep)
  const count = <T>(values: T[]) => {
    const counts = new Map<T, number>()
    for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
    return counts
  }
  const bands = [0, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000]
  const bandOf = (price: number) => bands.findLastIndex((lower) => price >= lower)
  const attributeKeys = [...new Set(matching.flatMap((fixture) => Object.keys(fixture.attributes)))]
  return {
    categories: [...count(matching.map((fixture) => fixture.category))].map(([name, n]) => ({ id: categories[name], name, count: n })),
    priceRanges: [...count(matching.map((fixture) => bandOf(fixture.price)))]
      .sort(([a], [b]) => a - b)
      .map(([band, n]) => ({ min: bands[band], max: bands[band + 1] ?? null, count: n })),
    attributes: Object.fromEntries(
      attributeKeys.map((key) => [
        key,
        [...count(matching.filter((fixture) => key in fixture.attributes).map((fixture) => fixture.attributes[key]))].map(([value, n]) => ({
          value,
          count: n
        }))
      ])
    )
  }
}
const sorted = <T extends { count: number }>(entries: T[]) =>
  [...entries].sort((a, b) => b.count - a.count || JSON.stringify(a).localeCompare(JSON.stringify(b)))
const comparable = (facets: ReturnType<typeof expectedFacets>) => ({
  categories: sorted(facets.categories),
  priceRanges: facets.priceRanges,
  attributes: Object.fromEntries(Object.entries(facets.attributes).map(([key, values]) => [key, sorted(values)]))
})

beforeAll(async () => {
  catalog = await startCatalog('search')
  const create = async (path: string, body: object, as = admin()) => {
    const response = await catalog.call('POST', path, { as, body })
    expect(response.status, JSON.stringify(response.body)).toBe(201)
    return response.body.id as string
  }
  categories.furniture = await create('/categories', { name: 'furniture' })
  categories.chairs = await create('/categories', { name: 'chairs', parentId: categories.furniture })
  categories.tables = await create('/categories', { name: 'tables', parentId: categories.furniture })
  categories.lighting = await create('/categories', { name: 'lighting' })
  await catalog.emit('user.registered', {
    userId: shop.id,
    version: 1,
    email: 'wood@example.com',
    name: 'Wood',
    role: 'seller',
    status: 'active',
    shopName: 'Woodworks'
  })
  for (const fixture of listed) {
    const { key, category, ...product } = fixture
    ids[key] = await create('/products', { ...product, currency: 'EUR', categoryId: categories[category] }, shop)
  }
  const base = { price: 5_000, currency: 'EUR', stock: 5, categoryId: categories.chairs, attributes: { color: 'brown', material: 'oak' } }
  await create('/products', { ...base, title: 'Oak bench', description: 'Archived', status: 'archived' }, shop)
  const removed = await create('/products', { ...base, title: 'Oak box', description: 'Removed' }, shop)
  expect((await catalog.call('DELETE', `/products/${removed}`, { as: shop })).status).toBe(200)
  const banned = seller()
  const hiddenProduct = await create('/products', { ...base, title: 'Oak shelf', description: 'Of a disabled seller' }, banned)
  await catalog.emit('user.registered', {
    userId: banned.id,
    version: 1,
    email: 'gone@example.com',
    name: 'Gone',
    role: 'seller',
    status: 'disabled'
  })
  await waitFor(async () => (await catalog.call('GET', `/products/${hiddenProduct}`)).body.available === false, { what: 'the disabled seller' })
  await waitFor(async () => (await catalog.call('GET', `/products/${ids.lamp}`)).body.shopName === 'Woodworks', { what: 'the shop' })
})
afterAll(() => catalog?.close())

describe('GET /search', () => {
  it('ranks a title match above a description match, and finds only listed products', async () => {
    const result = await search('q=oak')
    expect(result.total).toBe(3)
    expect(keysOf(result).slice(0, 2).sort()).toEqual(['diningChair', 'sideTable'])
    expect(keysOf(result)[2]).toBe('stool')
    expect(result.data[0]).toMatchObject({ shopName: 'Woodworks', currency: 'EUR', available: true })
  })

  it('answers a query nothing matches with empty data and facets', async () => {
    expect(await search('q=submarine')).toEqual({
      total: 0,
      limit: 20,
      skip: 0,
      data: [],
      facets: { categories: [], priceRanges: [], attributes: {} }
    })
  })

  it('supports web-search syntax: phrases and exclusions', async () => {
    expect(keysOf(await search(`q=${encodeURIComponent('"side table"')}`))).toEqual(['sideTable'])
    expect(keysOf(await search(`q=${encodeURIComponent('oak -stool -dining')}`))).toEqual(['sideTable'])
  })

  it('lists by the other filters when q is empty, newest first', async () => {
    const result = await search('q=')
    expect(result.total).toBe(5)
    expect(keysOf(result)).toEqual(listed.map((fixture) => fixture.key).reverse())
  })

  it.each([
    ['a category with its subcategories', () => `categoryId=${categories.furniture}`, (f: Fixture) => f.category !== 'lighting'],
    ['a leaf category', () => `categoryId=${categories.chairs}`, (f: Fixture) => f.category === 'chairs'],
    ['a price range (inclusive)', () => 'minPrice=9000&maxPrice=12000', (f: Fixture) => f.price >= 9_000 && f.price <= 12_000],
    ['a minimum price', () => 'minPrice=10000', (f: Fixture) => f.price >= 10_000],
    ['an attribute', () => 'attributes[color]=brown', (f: Fixture) => f.attributes.color === 'brown'],
    ['two attributes', () => 'attributes[color]=brown&attributes[material]=oak&q=table', (f: Fixture) => f.key === 'sideTable'],
    ['a numeric attribute', () => 'attributes[bulbs]=1', (f: Fixture) => f.attributes.bulbs === 1],
    ['a boolean attribute', () => 'attributes[dimmable]=true', (f: Fixture) => f.attributes.dimmable === true],
    ['in stock', () => 'inStock=true', (f: Fixture) => f.stock > 0],
    ['text and category', () => `q=oak&categoryId=${categories.tables}`, (f: Fixture) => f.key === 'sideTable']
  ])('filters by %s, with facets counted over the filtered set', async (_case, query, keep) => {
    const result = await search(`${query()}&$limit=100`)
    const expected = listed.filter(keep).map((fixture) => fixture.key)
    expect(result.total).toBe(expected.length)
    expect(keysOf(result).sort()).toEqual(expected.sort())
    expect(comparable(result.facets)).toEqual(comparable(expectedFacets(keep)))
  })

  it('counts every facet over all listed products when nothing is filtered', async () => {
    const { facets } = await search('')
    expect(comparable(facets)).toEqual(comparable(expectedFacets(() => true)))
    // Spelled out once, so the helper above is checked too.
    expect(facets.categories.find((c: { name: string }) => c.name === 'chairs').count).toBe(2)
    expect(facets.priceRanges).toEqual([
      { min: 2_500, max: 5_000, count: 1 },
      { min: 5_000, max: 10_000, count: 2 },
      { min: 10_000, max: 25_000, count: 1 },
      { min: 25_000, max: 50_000, count: 1 }
    ])
    expect(facets.attributes.color).toEqual([
      { value: 'brown', count: 2 },
      { value: 'brass', count: 1 },
      { value: 'clear', count: 1 },
      { value: 'natural', count: 1 }
    ])
  })

  it('sorts by price both ways, by rating and by newest, and pages', async () => {
    const byPrice = [...listed].sort((a, b) => a.price - b.price).map((fixture) => fixture.key)
    expect(keysOf(await search('sort=price'))).toEqual(byPrice)
    expect(keysOf(await search('sort=-price'))).toEqual([...byPrice].reverse())
    expect(keysOf(await search('sort=newest&q=oak'))).toEqual(['sideTable', 'stool', 'diningChair'])
    const page = await search('sort=price&$limit=2&$skip=2')
    expect(page).toMatchObject({ total: 5, limit: 2, skip: 2 })
    expect(keysOf(page)).toEqual(byPrice.slice(2, 4))

    await catalog.db('products').where('id', ids.lamp).update({ ratingCount: 2, ratingQualitySum: 10, ratingValueSum: 9, ratingDeliverySum: 10 })
    await catalog.db('products').where('id', ids.stool).update({ ratingCount: 1, ratingQualitySum: 3, ratingValueSum: 3, ratingDeliverySum: 3 })
    const rated = await search('sort=rating')
    expect(keysOf(rated).slice(0, 2)).toEqual(['lamp', 'stool'])
    expect(rated.data[0]).toMatchObject({ rating: 4.83, ratingQuality: 5, ratingValue: 4.5, ratingCount: 2 })
  })

  it.each([
    ['sort=cheapest', 'sort'],
    ['minPrice=-1', 'minPrice'],
    ['maxPrice=ten', 'maxPrice'],
    ['categoryId=furniture', 'categoryId'],
    ['colour=red', 'colour'],
    ['$limit=-1', '$limit']
  ])('answers %s with 400 naming the field', async (query, field) => {
    const response = await catalog.call('GET', `/search?${query}`)
    expect(response.status).toBe(400)
    const named = response.body.data.map(
      (error: { instancePath: string; params: { additionalProperty?: string } }) => error.params.additionalProperty ?? error.instancePath.slice(1)
    )
    expect(named).toContain(field)
  })

  it('follows a change of attributes, also one that reaches variants from their parent', async () => {
    const owner = seller()
    const body = { title: 'Teak planter', description: 'For the terrace', price: 4_000, currency: 'EUR', stock: 3, attributes: { finish: 'oiled' } }
    const parent = (await catalog.call('POST', '/products', { as: owner, body })).body
    const variant = (
      await catalog.call('POST', '/products', {
        as: owner,
        body: { parentId: parent.id, price: 5_000, currency: 'EUR', stock: 1, attributes: { size: 'L' } }
      })
    ).body
    const finished = async (finish: string) => keysOfIds(await search(`attributes[finish]=${finish}&$limit=100`))
    expect(await finished('oiled')).toEqual([parent.id, variant.id].sort())

    expect((await catalog.call('PATCH', `/products/${parent.id}`, { as: owner, body: { attributes: { finish: 'waxed' } } })).status).toBe(200)
    expect(await finished('oiled')).toEqual([])
    expect(await finished('waxed')).toEqual([parent.id, variant.id].sort())
    const facets = (await search('q=planter')).facets.attributes
    expect(facets).toEqual({ finish: [{ value: 'waxed', count: 2 }], size: [{ value: 'L', count: 1 }] })
    for (const product of [variant, parent]) await catalog.call('DELETE', `/products/${product.id}`, { as: owner })
  })

  it('works through @marketmesh/client', async () => {
    const result = await catalog.client().search.find({ query: { q: 'lamp', attributes: { color: 'brass' } } })
    expect(result.data.map((product) => product.id)).toEqual([ids.lamp])
    expect(result.facets.categories).toEqual([{ id: categories.lighting, name: 'lighting', count: 1 }])
  })
})

describe('the answers', () => {
  it('answered everything above as catalog-service’s OpenAPI document says', async () => {
    expect(await catalog.undocumentedAnswers()).toEqual([])
    expect(catalog.answerCount()).toBeGreaterThan(8)
  })
})
