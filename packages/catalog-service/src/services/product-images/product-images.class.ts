import { randomUUID } from 'node:crypto'
import { BadRequest, Conflict, NotFound } from '@feathersjs/errors'
import type { Id, Params } from '@feathersjs/feathers'
import type { KnexAdapterParams } from '@feathersjs/knex'
import { durationMs, invalidField, isUuid, type Knex, type ServiceApplication } from '@marketmesh/shared'
import { discardImages, EXPIRE_UPLOAD } from '../../images/cleanup'
import { imagesOf, imageView, type ImageRow, type ProductImage } from '../../images/image'
import { PROCESS_IMAGE } from '../../images/process'
import { uploadKeyOf } from '../../media/storage'
import { announceImages } from './hooks/announce-images'
import type { ProductImageData, ProductImagePatch, UploadTicket } from './product-images.schema'

export type { ProductImage, ProductImageData, ProductImagePatch, UploadTicket }

export type ProductImageParams = KnexAdapterParams & Params

const trxOf = (params: ProductImageParams) => params.transaction!.trx!
const productOf = (params: ProductImageParams) => params.imageProduct!

/** Images that take one of a product's places: all but the rejected, and uploads never made before their URL expired. */
const holdsAPlace = (query: Knex.QueryBuilder) =>
  query.whereNot('status', 'rejected').andWhere((open) => open.whereNot('status', 'pending').orWhere('expiresAt', '>', new Date()))

/**
 * A product's images (`/products/:productId/images`). Creating one answers a presigned upload;
 * `complete` (ImageCompletionService) hands it to the checks; the rest reads, reorders, describes
 * and deletes. The hooks have loaded the product and checked the caller may act on it.
 */
export class ProductImageService {
  constructor(private readonly app: ServiceApplication) {}

  private get publicUrl() {
    return this.app.get('media').publicUrl
  }

  private async row(db: Knex, id: Id, params: ProductImageParams, lock = false): Promise<ImageRow> {
    if (!isUuid(id)) throw invalidField('id', 'must be a UUID')
    const query = db('product_images').where({ id, productId: productOf(params).id })
    const row: ImageRow | undefined = await (lock ? query.forUpdate() : query).first()
    const viewer = params.imageViewer ?? {}
    const visible = row && (row.status === 'ready' || viewer.all || row.sellerId === viewer.ownShop)
    if (!visible) throw new NotFound(`No record found for id '${id}'`)
    return row
  }

  async find(params: ProductImageParams): Promise<ProductImage[]> {
    const productId = productOf(params).id
    const images = await imagesOf(this.app.get('postgresqlClient'), [productId], params.imageViewer ?? {})
    return (images.get(productId) ?? []).map((row) => imageView(row, this.publicUrl))
  }

  async get(id: Id, params: ProductImageParams): Promise<ProductImage> {
    return imageView(await this.row(this.app.get('postgresqlClient'), id, params), this.publicUrl)
  }

  async create(data: ProductImageData, params: ProductImageParams): Promise<UploadTicket> {
    const trx = trxOf(params)
    const product = productOf(params)
    const { maxBytes, maxImagesPerProduct, uploadUrlLifetime, uploadCleanupGrace } = this.app.get('media')
    if (data.size > maxBytes) throw invalidField('size', `must be at most ${maxBytes} bytes`)
    const [{ count }] = await holdsAPlace(trx('product_images').where({ productId: product.id })).count({ count: '*' })
    if (Number(count) >= maxImagesPerProduct) throw new BadRequest(`A product has at most ${maxImagesPerProduct} images`)
    const [{ next }] = await trx('product_images').where({ productId: product.id }).max({ next: 'position' })
    const id = randomUUID()
    const expiresAt = new Date(Date.now() + durationMs(uploadUrlLifetime))
    await trx('product_images').insert({
      id,
      productId: product.id,
      sellerId: product.sellerId,
      status: 'pending',
      contentType: data.contentType,
      size: data.size,
      alt: data.alt ?? '',
      position: next === null ? 0 : Number(next) + 1,
      uploadKey: uploadKeyOf(id),
      expiresAt
    })
    // An upload never completed goes with its bytes, by a durable timer set in the same transaction.
    await this.app
      .get('events')
      .effects.schedule(trx, EXPIRE_UPLOAD, id, { imageId: id }, { delayMs: durationMs(uploadUrlLifetime) + durationMs(uploadCleanupGrace) })
    const target = await this.app.get('mediaStorage').presignUpload(uploadKeyOf(id), data.contentType, data.size, expiresAt)
    return { imageId: id, uploadUrl: target.url, method: target.method, headers: target.headers, expiresAt: expiresAt.toISOString() }
  }

  async patch(id: Id, data: ProductImagePatch, params: ProductImageParams): Promise<ProductImage> {
    const trx = trxOf(params)
    const row = await this.row(trx, id, params, true)
    if (data.alt !== undefined) await trx('product_images').where({ id: row.id }).update({ alt: data.alt, updatedAt: trx.fn.now() })
    if (data.position !== undefined && data.position !== row.position) {
      const order: string[] = (await trx('product_images').where({ productId: row.productId }).orderBy(['position', 'createdAt']).select('id')).map(
        (image) => image.id
      )
      order.splice(order.indexOf(row.id), 1)
      order.splice(Math.min(data.position, order.length), 0, row.id)
      await trx.raw(
        `UPDATE product_images AS i SET position = o.position - 1, "updatedAt" = now()
           FROM unnest(?::uuid[]) WITH ORDINALITY AS o(id, position) WHERE i.id = o.id`,
        [order]
      )
      if (row.status === 'ready') await announceImages(this.app)(trx, row.productId)
    }
    return imageView(await this.row(trx, id, params), this.publicUrl)
  }

  async remove(id: Id, params: ProductImageParams): Promise<ProductImage> {
    const trx = trxOf(params)
    const row = await this.row(trx, id, params, true)
    // The files go after commit, as a side effect: a crash before it leaves none behind for good.
    await discardImages(trx, this.app.get('events').effects, [row])
    if (row.status === 'ready') await announceImages(this.app)(trx, row.productId)
    return imageView(row, this.publicUrl)
  }
}

/**
 * `POST /products/:productId/images/:imageId/complete`: the seller has uploaded; the image is
 * `processing` and its checks run after the answer, as a side effect (a crash runs them again).
 * Completing again answers the image as it is.
 */
export class ImageCompletionService {
  constructor(private readonly app: ServiceApplication) {}

  async create(_data: unknown, params: ProductImageParams): Promise<ProductImage> {
    const trx = trxOf(params)
    const imageId = params.route?.imageId
    if (!isUuid(imageId)) throw invalidField('imageId', 'must be a UUID')
    const row: ImageRow | undefined = await trx('product_images')
      .where({ id: imageId, productId: productOf(params).id })
      .forUpdate()
      .first()
    if (!row) throw new NotFound(`No record found for id '${imageId}'`)
    if (row.status === 'pending') {
      await trx('product_images').where({ id: row.id }).update({ status: 'processing', updatedAt: trx.fn.now() })
      await this.app.get('events').effects.schedule(trx, PROCESS_IMAGE, row.id, { imageId: row.id })
      return imageView({ ...row, status: 'processing' }, this.app.get('media').publicUrl)
    }
    if (row.status === 'rejected') throw new Conflict(`The image was rejected: ${row.rejectionReason}`)
    return imageView(row, this.app.get('media').publicUrl)
  }
}
