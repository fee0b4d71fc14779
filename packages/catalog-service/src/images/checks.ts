import { fileTypeFromBuffer } from 'file-type'
import sharp from 'sharp'

/** What a product image may be: these four, by their bytes. */
export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/avif'] as const
export type ImageType = (typeof IMAGE_TYPES)[number]

export interface ImageLimits {
  maxBytes: number
  /** Pixels on either side. */
  maxSide: number
  /** Pixels in all. */
  maxPixels: number
}

export type Inspection = { accepted: true; width: number; height: number } | { accepted: false; reason: string }

const refuse = (reason: string): Inspection => ({ accepted: false, reason })

/**
 * What arrived, checked before anything decodes it: its length (the one the upload was signed
 * for, within the limit), its real type from its magic numbers (the one declared), and its
 * dimensions from its header alone, so that a small file claiming a huge canvas (a decompression
 * bomb) is refused without a pixel being decoded.
 */
export const inspectUpload = async (bytes: Buffer, declared: { contentType: string; size: number }, limits: ImageLimits): Promise<Inspection> => {
  if (bytes.length > limits.maxBytes) return refuse(`The file has ${bytes.length} bytes, more than the ${limits.maxBytes} allowed`)
  if (bytes.length !== declared.size) return refuse(`The file has ${bytes.length} bytes, not the ${declared.size} announced`)
  const detected = await fileTypeFromBuffer(bytes)
  if (!detected || !IMAGE_TYPES.includes(detected.mime as ImageType)) {
    return refuse(`The file is ${detected ? detected.mime : 'of no known type'}, not a JPEG, PNG, WebP or AVIF image`)
  }
  if (detected.mime !== declared.contentType) return refuse(`The file is ${detected.mime}, not the ${declared.contentType} announced`)
  let header: sharp.Metadata
  try {
    // The header only, nothing decoded: sharp's own pixel limit would refuse without saying the size.
    // The decoder (variants.ts) keeps `limitInputPixels` as a second guard.
    header = await sharp(bytes, { limitInputPixels: false }).metadata()
  } catch {
    return refuse('The image header cannot be read')
  }
  const { width, height } = header
  if (!width || !height) return refuse('The image has no dimensions')
  if (width > limits.maxSide || height > limits.maxSide) return refuse(`The image is ${width}×${height} pixels; at most ${limits.maxSide} on a side`)
  if (width * height > limits.maxPixels) return refuse(`The image is ${width}×${height} pixels; at most ${limits.maxPixels} in all`)
  return { accepted: true, width, height }
}
