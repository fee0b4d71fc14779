import { createHmac, timingSafeEqual } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { STORAGE_KEY, type MediaStorage, type StoredObject, type UploadTarget } from './storage'

export const MEDIA_PATH = '/media'

const CONTENT_TYPES: Record<string, string> = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', avif: 'image/avif' }

/** What a local upload URL's signature covers. */
export interface SignedUpload {
  key: string
  contentType: string
  size: number
  /** Seconds since the epoch. */
  expires: number
}

/**
 * The store that needs no setup: files in a folder, uploads taken by this service's own
 * `PUT /media/uploads/<id>` with an HMAC-signed URL (see media-route.ts), served from `/media/...`.
 */
export class LocalStorage implements MediaStorage {
  constructor(
    private readonly directory: string,
    private readonly signingKey: string
  ) {}

  private pathOf(key: string) {
    if (!STORAGE_KEY.test(key)) throw new Error(`Not a storage key: ${key}`)
    return join(this.directory, key)
  }

  private signatureOf(upload: SignedUpload) {
    return createHmac('sha256', this.signingKey).update(`PUT\n${upload.key}\n${upload.contentType}\n${upload.size}\n${upload.expires}`).digest('hex')
  }

  async presignUpload(key: string, contentType: string, size: number, expiresAt: Date): Promise<UploadTarget> {
    const expires = Math.floor(expiresAt.getTime() / 1000)
    const signature = this.signatureOf({ key, contentType, size, expires })
    return {
      url: `${MEDIA_PATH}/${key}?expires=${expires}&signature=${signature}`,
      method: 'PUT',
      headers: { 'Content-Type': contentType },
      expiresAt
    }
  }

  /** Whether a PUT carries a signature this store made for exactly this upload. */
  verifyUpload(upload: SignedUpload, signature: string) {
    const expected = Buffer.from(this.signatureOf(upload), 'hex')
    const given = Buffer.from(signature, 'hex')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }

  /** Where an upload is streamed to before it is moved into place whole (see media-route.ts). */
  async partialPathOf(key: string) {
    const path = `${this.pathOf(key)}.partial`
    await mkdir(dirname(path), { recursive: true })
    return path
  }

  async commitPartial(key: string) {
    await rename(`${this.pathOf(key)}.partial`, this.pathOf(key))
  }

  async read(key: string) {
    try {
      return await readFile(this.pathOf(key))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  async write(key: string, body: Buffer) {
    const path = this.pathOf(key)
    await mkdir(dirname(path), { recursive: true })
    // Whole or not at all: a reader never sees half a file under its final name.
    await writeFile(`${path}.partial`, body)
    await rename(`${path}.partial`, path)
  }

  async open(key: string): Promise<StoredObject | undefined> {
    const path = this.pathOf(key)
    try {
      const { size } = await stat(path)
      const extension = key.slice(key.lastIndexOf('.') + 1)
      return { body: createReadStream(path), size, contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream' }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  /** Deletes the files, and an image's folder once it is empty. */
  async remove(keys: string[]) {
    await Promise.all(keys.map((key) => rm(this.pathOf(key), { force: true })))
    const folders = new Set(keys.filter((key) => key.startsWith('images/')).map((key) => dirname(this.pathOf(key))))
    await Promise.all(
      [...folders].map((folder) =>
        rmdir(folder).catch((error: NodeJS.ErrnoException) => {
          // Still holding files of the image (removed one by one), or gone already.
          if (error.code !== 'ENOTEMPTY' && error.code !== 'ENOENT') throw error
        })
      )
    )
  }

  close() {}
}
