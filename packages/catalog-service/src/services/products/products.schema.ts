import { resolve } from '@feathersjs/schema'
import { getValidator, StringEnum, Type, type Static } from '@feathersjs/typebox'
import { dataValidator, MultiLineText, publicQuerySyntax, queryValidator, SingleLineText, type ServiceHookContext } from '@marketmesh/shared'
import { productImageSchema } from '../product-images/product-images.schema'
import type { ProductService } from './products.class'

const Uuid = Type.String({ format: 'uuid' })
const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])

/**
 * Free JSON per product, e.g. `{ "color": "red", "size": 42 }`; scalar values can be filtered and
 * faceted in search. Shown to buyers: every name and string in it is a single line of text.
 */
export const attributesSchema = Type.Record(Type.String(), Type.Unknown(), {
  propertyNames: { minLength: 1, maxLength: 64 },
  maxProperties: 50,
  text: 'single-line'
})

export const productSchema = Type.Object(
  {
    id: Uuid,
    sellerId: Uuid,
    /** From the sellers read model; null until the seller's `user.*` event has arrived. */
    shopName: Nullable(Type.String()),
    parentId: Nullable(Uuid),
    title: SingleLineText({ minLength: 1, maxLength: 200 }),
    description: MultiLineText({ maxLength: 20_000 }),
    /** Minor units of `currency`. */
    price: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    stock: Type.Integer({ minimum: 0, maximum: 2_147_483_647 }),
    categoryId: Nullable(Uuid),
    attributes: attributesSchema,
    status: StringEnum(['active', 'archived']),
    /** Read-only: whether it can be bought now (active, and its seller's account not disabled). */
    available: Type.Boolean(),
    ratingCount: Type.Integer({ minimum: 0 }),
    /** Averages over the verified reviews (1–5, two decimals); null without reviews. */
    rating: Type.Union([Type.Number(), Type.Null()]),
    ratingQuality: Type.Union([Type.Number(), Type.Null()]),
    ratingValue: Type.Union([Type.Number(), Type.Null()]),
    ratingDelivery: Type.Union([Type.Number(), Type.Null()]),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    /** Read-only: 1 at creation, one more with every change of the product (PATCH, delete, its parent's shared fields, a reservation or its release, an image ready, moved or deleted). */
    version: Type.Integer({ minimum: 1 }),
    /** Read-only: its images in order (`/products/:id/images`); others than its shop and admins see the ready ones. */
    images: Type.Optional(Type.Array(productImageSchema))
  },
  { $id: 'Product', additionalProperties: false }
)
export type Product = Static<typeof productSchema>

/** The fields of a product that are computed, not read from its row (see products.sql.ts). */
export const computedProductFields: ReadonlyArray<keyof Product> = ['shopName', 'available', 'images']

/** What the service reads from the table for a product; everything else there is internal. */
export const productColumns = Object.keys(productSchema.properties).filter((key) => !computedProductFields.includes(key as keyof Product))

// A variant takes its title (and the other shared fields) from its parent, so only a product without parentId needs one.
export const productDataSchema = Type.Intersect(
  [
    Type.Pick(productSchema, ['price', 'currency', 'stock']),
    Type.Partial(Type.Pick(productSchema, ['title', 'description', 'categoryId', 'attributes', 'status', 'parentId', 'sellerId']))
  ],
  {
    $id: 'ProductData',
    additionalProperties: false,
    if: { required: ['parentId'], properties: { parentId: { type: 'string' } } },
    else: { required: ['title'] }
  }
)
export type ProductData = Static<typeof productDataSchema>
export const productDataValidator = getValidator(productDataSchema, dataValidator)

/**
 * Stock changes two ways: `stockDelta` adds to (or takes from) the stock as it is when the write
 * happens, reservations committed meanwhile included; an absolute `stock` needs the `version` it was
 * read at, so that it cannot overwrite a reservation made since (409). `version` makes any patch
 * conditional on it.
 */
export const productPatchSchema = Type.Object(
  {
    ...Type.Partial(Type.Pick(productSchema, ['title', 'description', 'price', 'currency', 'stock', 'categoryId', 'attributes', 'status']))
      .properties,
    stockDelta: Type.Optional(Type.Integer({ minimum: -2_147_483_647, maximum: 2_147_483_647 })),
    version: Type.Optional(productSchema.properties.version)
  },
  { $id: 'ProductPatch', additionalProperties: false, minProperties: 1, dependencies: { stock: ['version'] } }
)
export type ProductPatch = Static<typeof productPatchSchema> & { updatedAt?: Date }
export const productPatchValidator = getValidator(productPatchSchema, dataValidator)
// `stockDelta` and `version` are conditions of the write, no columns to set.
export const productPatchResolver = resolve<ProductPatch, ServiceHookContext<ProductService>>({
  stockDelta: async () => undefined,
  version: async () => undefined,
  updatedAt: async () => new Date()
})

export const productQueryProperties = Type.Pick(productSchema, [
  'id',
  'sellerId',
  'parentId',
  'categoryId',
  'status',
  'price',
  'currency',
  'stock',
  'title',
  'createdAt',
  'updatedAt'
])
// Every field of the answer: the search vector, the rating sums and the listing flags stay inside.
const productSelectable = Object.keys(productSchema.properties) as [keyof Product, ...Array<keyof Product>]
export const productQuerySchema = publicQuerySyntax(productQueryProperties, productSelectable)
export type ProductQuery = Static<typeof productQuerySchema>
export const productQueryValidator = getValidator(productQuerySchema, queryValidator)
/** The same schema as a synchronous check, for GET /products/:id (see ProductService._get). */
export const productQueryCheck = queryValidator.compile<ProductQuery>(productQuerySchema)
