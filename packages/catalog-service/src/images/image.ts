import type { Knex } from '@marketmesh/shared'
import type { ImageFile } from './variants'

export const IMAGE_STATUSES = ['pending', 'processing', 'ready', 'rejected'] as const
export type ImageStatus = (typeof IMAGE_STATUSES)[number]

/** A row of `product_images`. */
export interface ImageRow {
  id: string
  productId: string
  sellerId: string
  status: ImageStatus
  contentType: string
  size: number
  alt: string
  position: number
  width: number | null
  height: number | null
  rejectionReason: string | null
  uploadKey: string
  files: ImageFile[] | null
  expiresAt: Date
  createdAt: Date
  updatedAt: Date
}

export interface ImageUrls {
  thumb: string
  medium: string
  large: string
  original: string
}

/** An image as callers see it. `urls` (WebP, the original in its own format) and `fallback` (the upload's format) once it is ready. */
export interface ProductImage {
  id: string
  productId: string
  status: ImageStatus
  alt: string
  position: number
  width: number | null
  height: number | null
  rejectionReason: string | null
  urls: ImageUrls | null
  fallback: ImageUrls | null
  createdAt: string
  updatedAt: string
}

/** Where buyers fetch a stored file: the CDN's base when one is configured, else this service's `/media`. */
export const mediaUrl = (publicUrl: string, key: string) => `${publicUrl ? publicUrl.replace(/\/+$/, '') : '/media'}/${key}`

const urlsOf = (files: ImageFile[], format: ImageFile['format'], publicUrl: string): ImageUrls => {
  const find = (variant: ImageFile['variant']) =>
    files.find((file) => file.variant === variant && file.format === format) ?? files.find((file) => file.variant === variant)!
  return {
    thumb: mediaUrl(publicUrl, find('thumb').key),
    medium: mediaUrl(publicUrl, find('medium').key),
    large: mediaUrl(publicUrl, find('large').key),
    original: mediaUrl(publicUrl, files.find((file) => file.variant === 'original')!.key)
  }
}

/** The 200 px WebP of an image's files, for lists (search results); null without files. */
export const thumbOf = (files: ImageFile[] | null, publicUrl: string) => (files ? urlsOf(files, 'webp', publicUrl).thumb : null)

export const imageView = (row: ImageRow, publicUrl: string): ProductImage => ({
  id: row.id,
  productId: row.productId,
  status: row.status,
  alt: row.alt,
  position: row.position,
  width: row.width,
  height: row.height,
  rejectionReason: row.rejectionReason,
  urls: row.files ? urlsOf(row.files, 'webp', publicUrl) : null,
  fallback: row.files ? urlsOf(row.files, 'fallback', publicUrl) : null,
  createdAt: new Date(row.createdAt).toISOString(),
  updatedAt: new Date(row.updatedAt).toISOString()
})

/** The images of these products in their order: all of them for `ownShop`'s products (or everyone's with `all`), the ready ones of the others. */
export const imagesOf = async (db: Knex, productIds: string[], viewer: { all?: boolean; ownShop?: string }) => {
  if (productIds.length === 0) return new Map<string, ImageRow[]>()
  const rows: ImageRow[] = await db('product_images')
    .whereIn('productId', productIds)
    .where((visible) => {
      visible.where('status', 'ready')
      if (viewer.all) visible.orWhereRaw('true')
      else if (viewer.ownShop) visible.orWhere('sellerId', viewer.ownShop)
    })
    .orderBy([{ column: 'productId' }, { column: 'position' }, { column: 'createdAt' }])
  const byProduct = new Map<string, ImageRow[]>()
  for (const row of rows) byProduct.set(row.productId, [...(byProduct.get(row.productId) ?? []), row])
  return byProduct
}

/** What `product.updated` carries: the ready images' ids, in their order. */
export const readyImageIds = async (db: Knex, productId: string): Promise<string[]> =>
  (await db('product_images').where({ productId, status: 'ready' }).orderBy(['position', 'createdAt']).select('id')).map(({ id }) => id)

/** The storage keys of everything kept for an image. */
export const storedKeysOf = (row: Pick<ImageRow, 'uploadKey' | 'files'>) => [row.uploadKey, ...(row.files ?? []).map((file) => file.key)]
