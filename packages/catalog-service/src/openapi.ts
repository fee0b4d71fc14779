import { Type } from '@feathersjs/typebox'
import { kitRoutes, noQuerySchema, tokenCheckDoc, type ApiDescription } from '@marketmesh/shared'
import { MEDIA_PATH } from './media/local-storage'
import { categoryDataSchema, categoryPatchSchema, categoryQuerySchema, categorySchema } from './services/categories/categories.schema'
import {
  productImageDataSchema,
  productImagePatchSchema,
  productImageSchema,
  uploadTicketSchema
} from './services/product-images/product-images.schema'
import { productDataSchema, productPatchSchema, productQuerySchema, productSchema } from './services/products/products.schema'
import { reviewDataSchema, reviewQuerySchema, reviewSchema } from './services/reviews/reviews.schema'
import { searchQuerySchema, searchResultSchema } from './services/search/search.schema'

const writers = ['seller', 'admin']
// A review as callers get it: its buyer and order only for its author and admins (reviewExternalResolver).
const reviewAnswer = Type.Object(
  { ...reviewSchema.properties, orderId: Type.Optional(reviewSchema.properties.orderId), buyerId: Type.Optional(reviewSchema.properties.buyerId) },
  { $id: 'Review', additionalProperties: false }
)

/** catalog-service's API, as GET /openapi.json serves it (docs/openapi.md). */
export const api: ApiDescription = {
  title: 'catalog-service',
  description: 'Products and their variants, stock, categories, product images, search and verified reviews.',
  server: 'http://localhost:3032',
  services: {
    authentication: tokenCheckDoc,
    categories: {
      result: categorySchema,
      data: categoryDataSchema,
      patch: categoryPatchSchema,
      query: categoryQuerySchema,
      roles: ['admin'],
      errors: [409],
      methods: { find: { access: 'public', roles: undefined }, get: { access: 'public', roles: undefined } }
    },
    products: {
      result: productSchema,
      data: productDataSchema,
      patch: productPatchSchema,
      query: productQuerySchema,
      roles: writers,
      errors: [409],
      methods: {
        find: { access: 'optional', roles: undefined, summary: 'List products (a seller’s token shows their shop’s archived ones too)' },
        get: { access: 'optional', roles: undefined },
        patch: { summary: 'Change one’s product (stock: stockDelta, or stock with the version it was read at)' }
      }
    },
    'products/:productId/images': {
      tag: 'product-images',
      result: productImageSchema,
      data: productImageDataSchema,
      patch: productImagePatchSchema,
      query: noQuerySchema,
      unpaginated: true,
      roles: writers,
      errors: [409, 429],
      methods: {
        find: { access: 'optional', roles: undefined, summary: 'A product’s images in order (others than its shop and admins see the ready ones)' },
        get: { access: 'optional', roles: undefined },
        create: { summary: 'Ask for an upload: the answer is a presigned PUT of exactly this type and size', result: uploadTicketSchema }
      }
    },
    'products/:productId/images/:imageId/complete': {
      tag: 'product-images',
      result: productImageSchema,
      data: Type.Object({}, { additionalProperties: false }),
      query: noQuerySchema,
      roles: writers,
      errors: [409],
      methods: { create: { summary: 'The upload is done: check it and make its variants' } }
    },
    search: {
      result: searchResultSchema,
      query: searchQuerySchema,
      access: 'public',
      methods: { find: { summary: 'Full-text search with filters and facets', result: searchResultSchema } }
    },
    reviews: {
      result: reviewAnswer,
      data: reviewDataSchema,
      query: reviewQuerySchema,
      access: 'optional',
      errors: [409],
      methods: { create: { summary: 'Review a delivered purchase (verified buyers only)', access: 'user', roles: ['buyer'] } }
    }
  },
  routes: [
    ...kitRoutes('http://localhost:4032'),
    ...(['get', 'head'] as const).map((method) => ({
      path: `${MEDIA_PATH}/images/{imageId}/{file}`,
      method,
      tag: 'product-images',
      summary: 'An image variant (immutable; its content hash is the ETag)',
      access: 'public' as const,
      pathParameters: { imageId: Type.String({ format: 'uuid' }), file: Type.String({ examples: ['3f9c0a1b2c3d4e5f-large.webp'] }) },
      answers: {
        200: { description: 'The image', contentType: 'image/*', schema: Type.String({ contentEncoding: 'binary' }) },
        304: { description: 'Not modified (If-None-Match)' }
      },
      errors: [404]
    })),
    {
      path: `${MEDIA_PATH}/uploads/{imageId}`,
      method: 'put',
      tag: 'product-images',
      summary: 'The presigned upload of an image (local store only; the URL comes from POST /products/{productId}/images)',
      access: 'public',
      pathParameters: { imageId: Type.String({ format: 'uuid' }) },
      query: Type.Object({ expires: Type.Integer(), signature: Type.String({ pattern: '^[0-9a-f]{64}$' }) }),
      body: { contentType: 'image/*', schema: Type.String({ contentEncoding: 'binary' }) },
      answers: { 200: { description: 'Stored; complete it with POST …/complete' } },
      errors: [400, 403, 404, 405, 409, 411, 503]
    }
  ]
}
