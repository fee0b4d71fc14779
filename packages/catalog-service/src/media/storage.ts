import type { Readable } from 'node:stream'

/** Where an upload goes, as the client must send it: within `expiresAt`, with exactly these headers. */
export interface UploadTarget {
  /** Absolute for S3; a path on this service (`/media/...`) for the local store. */
  url: string
  method: 'PUT'
  headers: Record<string, string>
  expiresAt: Date
}

/** An object as it is served. */
export interface StoredObject {
  body: Readable
  size: number
  contentType: string
}

/**
 * Where product images are kept: a local folder (this service answers the uploads and serves the
 * files) or an S3-compatible bucket. Keys are `uploads/<imageId>` for what a seller sent,
 * unchecked, and `images/<imageId>/<content hash>-<variant>.<ext>` for what was made of it, so
 * that a name never stands for two contents and can be cached for good.
 */
export interface MediaStorage {
  /** A URL that takes one PUT of `size` bytes of `contentType` to `key` until `expiresAt`. */
  presignUpload(key: string, contentType: string, size: number, expiresAt: Date): Promise<UploadTarget>
  /** The whole object (uploads are at most the size limit), or undefined when there is none. */
  read(key: string): Promise<Buffer | undefined>
  write(key: string, body: Buffer, contentType: string): Promise<void>
  /** For serving: the object as a stream, or undefined when there is none. */
  open(key: string): Promise<StoredObject | undefined>
  /** Deletes the objects; one already gone is no error. */
  remove(keys: string[]): Promise<void>
  close(): void
}

/** What a stored key may look like: nothing a path could climb out of its folder with. */
export const STORAGE_KEY = /^(uploads|images)\/[0-9a-f-]{36}(\/[0-9a-f]{16}-[a-z0-9]+\.[a-z]+)?$/

export const uploadKeyOf = (imageId: string) => `uploads/${imageId}`

/** Long-lived and immutable: a name is never reused for another content. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable'
