import type { Fetch } from './session.js'
import type { ProductImage, ProductImageData, ProductImagePatch, UploadTicket } from './schema-types.js'

/** A file to upload: a browser `File`/`Blob` (its `type` is the content type) or bytes with `contentType`. */
export type ImageFile = Blob | Uint8Array

export interface UploadOptions {
  /** Required for bytes; a Blob's own `type` otherwise. */
  contentType?: ProductImageData['contentType']
  alt?: string
}

/** The REST calls of one product's images, as the client's transport makes them: it needs their params, if empty. */
interface ImagesService {
  find(params: object): Promise<ProductImage[]>
  get(id: string, params: object): Promise<ProductImage>
  create(data: ProductImageData, params: object): Promise<UploadTicket>
  patch(id: string, data: ProductImagePatch, params: object): Promise<ProductImage>
  remove(id: string, params: object): Promise<ProductImage>
}

/** `mm.products.images`: a product's images, and their upload in one call. */
export interface ProductImagesApi {
  /**
   * Asks for an upload URL, PUTs the file there (to the bucket or catalog-service, without the
   * session's token) and completes it. Answers the image `processing`: `get` shows when it is
   * `ready` or `rejected` (with its reason).
   */
  upload(productId: string, file: ImageFile, options?: UploadOptions): Promise<ProductImage>
  find(productId: string): Promise<ProductImage[]>
  get(productId: string, imageId: string): Promise<ProductImage>
  /** Sets its `alt` text, or moves it to `position` (0 is first). */
  patch(productId: string, imageId: string, data: ProductImagePatch): Promise<ProductImage>
  remove(productId: string, imageId: string): Promise<ProductImage>
}

/**
 * Where to PUT: a bucket's URL as it is, catalog-service's own store's path under the catalog URL
 * the client was given. Not `new URL`, which older React Native runtimes implement only in part.
 */
const uploadTarget = (uploadUrl: string, catalogUrl: string) =>
  /^[a-z][a-z\d+.-]*:\/\//i.test(uploadUrl) ? uploadUrl : `${catalogUrl.replace(/\/+$/, '')}/${uploadUrl.replace(/^\/+/, '')}`

export const productImagesApi = (catalogUrl: string, service: (path: string) => unknown, fetch: Fetch): ProductImagesApi => {
  const images = (productId: string) => service(`products/${encodeURIComponent(productId)}/images`) as ImagesService
  return {
    async upload(productId, file, options = {}) {
      const isBlob = typeof Blob !== 'undefined' && file instanceof Blob
      const contentType = options.contentType ?? (isBlob ? (file as Blob).type : undefined)
      if (!contentType) throw new Error('products.images.upload: give options.contentType for bytes')
      const size = isBlob ? (file as Blob).size : (file as Uint8Array).byteLength
      const asked = {
        contentType: contentType as ProductImageData['contentType'],
        size,
        ...(options.alt !== undefined && { alt: options.alt })
      }
      const ticket = await images(productId).create(asked, {})
      const put = await fetch(uploadTarget(ticket.uploadUrl, catalogUrl), {
        method: ticket.method,
        headers: ticket.headers,
        body: file as NonNullable<Parameters<Fetch>[1]>['body']
      })
      if (!put.ok) throw new Error(`products.images.upload: the upload answered ${put.status} ${await put.text()}`)
      const completion = service(`products/${encodeURIComponent(productId)}/images/${encodeURIComponent(ticket.imageId)}/complete`) as {
        create(data: object, params: object): Promise<ProductImage>
      }
      return completion.create({}, {})
    },
    find: (productId) => images(productId).find({}),
    get: (productId, imageId) => images(productId).get(imageId, {}),
    patch: (productId, imageId, data) => images(productId).patch(imageId, data, {}),
    remove: (productId, imageId) => images(productId).remove(imageId, {})
  }
}
