// Realistic catalog data for the catalog benches: a category tree, sellers (a few disabled) and
// products with generated titles, descriptions and attributes. Deterministic (seeded) so runs compare.
import { randomUUID } from 'node:crypto'

export const random = (seed = 42) => {
  let state = seed >>> 0
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const pick = (list) => list[Math.floor(next() * list.length)]
  // Zipf-like: the first entries are much more frequent, as real vocabularies are.
  const skewed = (list) => list[Math.floor(list.length * next() ** 2)]
  return { next, pick, skewed, int: (min, max) => min + Math.floor(next() * (max - min + 1)) }
}

const colors = ['black', 'white', 'grey', 'blue', 'red', 'green', 'brown', 'beige', 'navy', 'yellow', 'pink', 'orange']
const brands = [
  'Nordhaus',
  'Fjellstad',
  'Acme',
  'Lumio',
  'Verdant',
  'Oakridge',
  'Mistral',
  'Kobo',
  'Atelier Nine',
  'Halden',
  'Bricktown',
  'Solace',
  'Ironbark',
  'Pebble',
  'Tundra',
  'Marlow',
  'Quill',
  'Ember',
  'Vireo',
  'Cobalt'
]
const adjectives = [
  'classic',
  'modern',
  'vintage',
  'compact',
  'handmade',
  'lightweight',
  'premium',
  'rustic',
  'minimalist',
  'foldable',
  'waterproof',
  'ergonomic',
  'durable',
  'elegant',
  'portable',
  'organic',
  'recycled',
  'soft',
  'sturdy',
  'slim'
]
const rooms = [
  'the living room',
  'the kitchen',
  'the office',
  'the garden',
  'the bedroom',
  'camping trips',
  'everyday use',
  'travel',
  'the workshop',
  'gifts'
]
const features = [
  'Easy to clean and built to last.',
  'Ships fully assembled.',
  'Backed by a two-year warranty.',
  'Made in a family workshop.',
  'Certified sustainable materials.',
  'Tested for daily heavy use.',
  'Packed without plastic.',
  'Designed in Scandinavia.',
  'Comes with spare parts.',
  'Fits neatly in small spaces.',
  'Gentle on sensitive skin.',
  'Charges over USB-C in two hours.'
]

/** Top-level categories, their subcategories, the nouns their products are, and their attributes. */
const departments = [
  {
    name: 'Furniture',
    subs: {
      Chairs: ['chair', 'armchair', 'stool'],
      Tables: ['table', 'desk', 'side table'],
      Storage: ['shelf', 'cabinet', 'dresser'],
      Beds: ['bed frame', 'headboard']
    },
    attributes: (r) => ({
      color: r.skewed(colors),
      material: r.pick(['oak', 'walnut', 'pine', 'steel', 'bamboo', 'birch', 'teak']),
      assembly: r.pick(['required', 'none'])
    })
  },
  {
    name: 'Lighting',
    subs: { Lamps: ['desk lamp', 'floor lamp', 'table lamp'], Ceiling: ['pendant light', 'chandelier'], Outdoor: ['lantern', 'string lights'] },
    attributes: (r) => ({
      color: r.skewed(colors),
      bulbs: r.int(1, 4),
      dimmable: r.next() < 0.5,
      material: r.pick(['brass', 'glass', 'steel', 'paper'])
    })
  },
  {
    name: 'Clothing',
    subs: {
      Jackets: ['jacket', 'parka', 'raincoat'],
      Shirts: ['shirt', 't-shirt', 'blouse'],
      Trousers: ['jeans', 'chinos', 'trousers'],
      Knitwear: ['sweater', 'cardigan', 'scarf']
    },
    attributes: (r) => ({
      color: r.skewed(colors),
      size: r.pick(['XS', 'S', 'M', 'L', 'XL']),
      material: r.pick(['cotton', 'wool', 'linen', 'polyester', 'denim']),
      fit: r.pick(['regular', 'slim', 'relaxed'])
    })
  },
  {
    name: 'Kitchen',
    subs: {
      Cookware: ['frying pan', 'saucepan', 'dutch oven'],
      Knives: ['chef knife', 'bread knife', 'knife set'],
      Tableware: ['plate set', 'mug', 'bowl']
    },
    attributes: (r) => ({
      color: r.skewed(colors),
      material: r.pick(['cast iron', 'stainless steel', 'ceramic', 'porcelain', 'carbon steel']),
      dishwasherSafe: r.next() < 0.6
    })
  },
  {
    name: 'Electronics',
    subs: {
      Audio: ['headphones', 'speaker', 'earbuds'],
      Chargers: ['charger', 'power bank', 'cable'],
      Cameras: ['camera', 'action camera', 'webcam']
    },
    attributes: (r) => ({
      color: r.pick(['black', 'white', 'grey', 'blue']),
      wireless: r.next() < 0.6,
      warrantyYears: r.int(1, 3),
      brand: r.skewed(brands)
    })
  },
  {
    name: 'Garden',
    subs: { Tools: ['spade', 'pruning shears', 'rake'], Plants: ['olive tree', 'lavender', 'fern'], Furniture: ['garden bench', 'sun lounger'] },
    attributes: (r) => ({ color: r.skewed(colors), material: r.pick(['steel', 'wood', 'plastic', 'ceramic']), outdoor: true })
  },
  {
    name: 'Sports',
    subs: { Running: ['running shoes', 'running vest'], Yoga: ['yoga mat', 'yoga block'], Cycling: ['bike helmet', 'bike light', 'bottle cage'] },
    attributes: (r) => ({ color: r.skewed(colors), size: r.pick(['S', 'M', 'L']), gender: r.pick(['women', 'men', 'unisex']) })
  },
  {
    name: 'Books',
    subs: { Fiction: ['novel', 'short stories'], Cooking: ['cookbook'], Travel: ['travel guide', 'atlas'] },
    attributes: (r) => ({ language: r.skewed(['english', 'german', 'french', 'spanish']), format: r.pick(['hardcover', 'paperback']) })
  }
]

export const categoryRows = () => {
  const rows = []
  const leaves = []
  for (const department of departments) {
    const top = { id: randomUUID(), name: department.name, parentId: null }
    rows.push(top)
    for (const [name, nouns] of Object.entries(department.subs)) {
      const sub = { id: randomUUID(), name, parentId: top.id }
      rows.push(sub)
      leaves.push({ id: sub.id, top: top.id, nouns, attributes: department.attributes })
    }
  }
  return { rows, leaves, tops: rows.filter((row) => row.parentId === null) }
}

export const sellerRows = (count, r) =>
  Array.from({ length: count }, (_, i) => ({
    id: randomUUID(),
    shopName: `${r.pick(brands)} ${r.pick(['Store', 'Goods', 'Supply', 'House', 'Market', 'Studio'])} ${i}`,
    status: i % 40 === 39 ? 'disabled' : 'active',
    version: 1
  }))

const capitalize = (text) => text.replace(/\b\w/g, (letter) => letter.toUpperCase())

export const productRow = (r, leaf, seller) => {
  const noun = r.pick(leaf.nouns)
  const brand = r.skewed(brands)
  const adjective = r.skewed(adjectives)
  const attributes = leaf.attributes(r)
  const material = attributes.material ? `${attributes.material} ` : ''
  const title = capitalize(`${brand} ${adjective} ${material}${noun}`)
  const description = [
    `A ${r.skewed(adjectives)} ${noun} in ${attributes.color ?? r.pick(colors)} for ${r.pick(rooms)}.`,
    r.pick(features),
    r.next() < 0.5 ? `Pairs well with our ${r.pick(adjectives)} ${r.pick(leaf.nouns)}.` : r.pick(features)
  ].join(' ')
  const ratingCount = r.next() < 0.6 ? r.int(1, 200) : 0
  return {
    id: randomUUID(),
    sellerId: seller.id,
    title,
    description,
    // Log-uniform between 5.00 and 2,000.00.
    price: Math.round(500 * 400 ** r.next()),
    currency: 'EUR',
    stock: r.next() < 0.1 ? 0 : r.int(1, 120),
    categoryId: leaf.id,
    attributes,
    status: r.next() < 0.03 ? 'archived' : 'active',
    ratingCount,
    ratingQualitySum: ratingCount * r.int(2, 5),
    ratingValueSum: ratingCount * r.int(2, 5),
    ratingDeliverySum: ratingCount * r.int(2, 5),
    createdAt: new Date(Date.now() - r.int(0, 365 * 24 * 3600) * 1000)
  }
}

/** Seeds `count` products (and categories and sellers) through the service's own knex client. */
export const seedCatalog = async (db, count, { seed = 42, sellers: sellerCount = 200 } = {}) => {
  const r = random(seed)
  const categories = categoryRows()
  await db('categories').insert(categories.rows)
  const sellers = sellerRows(sellerCount, r)
  await db('sellers').insert(sellers)
  const batch = 2_000
  for (let done = 0; done < count; done += batch) {
    const rows = Array.from({ length: Math.min(batch, count - done) }, () => productRow(r, r.pick(categories.leaves), r.pick(sellers)))
    await db('products').insert(rows)
  }
  await db.raw('VACUUM ANALYZE products')
  await db.raw('VACUUM ANALYZE categories')
  await db.raw('VACUUM ANALYZE sellers')
  return { categories, sellers }
}

export const vocabulary = { colors, brands, adjectives, departments }
