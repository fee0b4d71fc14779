import { createHash } from 'node:crypto'
import sharp from 'sharp'
import type { ImageLimits, ImageType } from './checks'

/** The sizes buyers get, by width in pixels (never enlarged). */
export const VARIANT_WIDTHS = { thumb: 200, medium: 800, large: 1600 } as const
export type VariantName = keyof typeof VARIANT_WIDTHS | 'original'

/** One file made of an upload: a size in WebP, or in the upload's own format (`fallback`, and the original). */
export interface ImageFile {
  variant: VariantName
  format: 'webp' | 'fallback'
  key: string
  contentType: ImageType
  width: number
  height: number
  bytes: number
}

const EXTENSIONS: Record<ImageType, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'image/avif': 'avif' }

const encode = (image: sharp.Sharp, type: ImageType) => {
  switch (type) {
    case 'image/jpeg':
      return image.jpeg({ quality: 82, mozjpeg: true })
    case 'image/png':
      return image.png({ compressionLevel: 9 })
    case 'image/webp':
      return image.webp({ quality: 80 })
    case 'image/avif':
      return image.avif({ quality: 55 })
  }
}

/**
 * Decodes the upload once (turned upright by its EXIF orientation) and writes every variant from
 * it: 200, 800 and 1600 px wide as WebP and in the upload's own format, and the whole image in its
 * own format. sharp keeps no metadata unless asked to, so no EXIF (GPS position, camera serial),
 * XMP or IPTC reaches a buyer. Each file's name carries the hash of its content.
 */
export const makeVariants = async (
  imageId: string,
  bytes: Buffer,
  type: ImageType,
  limits: ImageLimits
): Promise<Array<ImageFile & { data: Buffer }>> => {
  const upright = sharp(bytes, { limitInputPixels: limits.maxPixels, failOn: 'error' }).rotate()
  const jobs: Array<{ variant: VariantName; format: ImageFile['format']; contentType: ImageType; image: sharp.Sharp }> = [
    { variant: 'original', format: 'fallback', contentType: type, image: encode(upright.clone(), type) }
  ]
  for (const [variant, width] of Object.entries(VARIANT_WIDTHS) as Array<[VariantName, number]>) {
    const resized = () => upright.clone().resize({ width, withoutEnlargement: true })
    jobs.push({ variant, format: 'webp', contentType: 'image/webp', image: resized().webp({ quality: 80 }) })
    if (type !== 'image/webp') jobs.push({ variant, format: 'fallback', contentType: type, image: encode(resized(), type) })
  }
  return Promise.all(
    jobs.map(async ({ variant, format, contentType, image }) => {
      const { data, info } = await image.toBuffer({ resolveWithObject: true })
      const hash = createHash('sha256').update(data).digest('hex').slice(0, 16)
      const key = `images/${imageId}/${hash}-${variant}.${EXTENSIONS[contentType]}`
      return { variant, format, key, contentType, width: info.width, height: info.height, bytes: data.length, data }
    })
  )
}
