import type { Readable } from 'node:stream'
import { DeleteObjectsCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import type { MediaSettings } from '../configuration'
import { IMMUTABLE_CACHE_CONTROL, type MediaStorage, type StoredObject, type UploadTarget } from './storage'

const isMissing = (error: unknown) => error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchKey'

/** A client of the bucket at `endpoint` (empty: AWS's own), with the bucket's credentials. */
const clientOf = (settings: MediaSettings['s3'], endpoint: string) =>
  new S3Client({
    region: settings.region,
    endpoint: endpoint || undefined,
    forcePathStyle: settings.forcePathStyle,
    // The SDK's default (WHEN_SUPPORTED) signs the CRC32 of the PutObject's body into a presigned
    // URL, and at signing time there is none: the URL carries the checksum of zero bytes, and stores
    // that check it (R2, Garage, SeaweedFS) refuse every upload to it. Only operations that require one get one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    credentials: settings.accessKeyId ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey } : undefined
  })

/**
 * An S3-compatible bucket (AWS, MinIO, R2, s3rver). Uploads go straight to the bucket with a
 * presigned PUT whose signature covers the type and the length; what is made of them is written
 * with an immutable Cache-Control, so a CDN in front of the bucket may keep it for good.
 */
export class S3Storage implements MediaStorage {
  /** This service's own reads, writes and deletes, at `endpoint`. */
  private readonly client: S3Client
  /**
   * Signs the upload URLs for `publicEndpoint`, the bucket as the sellers reach it (in docker
   * compose, the host's published port rather than the network's `minio`): the signature covers
   * the host, so a URL signed for one cannot be sent to another. It sends nothing itself.
   */
  private readonly presigner: S3Client
  private readonly bucket: string

  constructor(settings: MediaSettings['s3']) {
    this.bucket = settings.bucket
    this.client = clientOf(settings, settings.endpoint)
    this.presigner = clientOf(settings, settings.publicEndpoint || settings.endpoint)
  }

  async presignUpload(key: string, contentType: string, size: number, expiresAt: Date): Promise<UploadTarget> {
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType, ContentLength: size })
    const url = await getSignedUrl(this.presigner, command, {
      expiresIn: Math.max(1, Math.floor((expiresAt.getTime() - Date.now()) / 1000)),
      signableHeaders: new Set(['content-type', 'content-length'])
    })
    return { url, method: 'PUT', headers: { 'Content-Type': contentType }, expiresAt }
  }

  async read(key: string) {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      return Buffer.from(await object.Body!.transformToByteArray())
    } catch (error) {
      if (isMissing(error)) return undefined
      throw error
    }
  }

  async write(key: string, body: Buffer, contentType: string) {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, CacheControl: IMMUTABLE_CACHE_CONTROL })
    )
  }

  async open(key: string): Promise<StoredObject | undefined> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
      return { body: object.Body as Readable, size: object.ContentLength ?? 0, contentType: object.ContentType ?? 'application/octet-stream' }
    } catch (error) {
      if (isMissing(error)) return undefined
      throw error
    }
  }

  async remove(keys: string[]) {
    if (keys.length === 0) return
    await this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }))
  }

  close() {
    this.client.destroy()
    this.presigner.destroy()
  }
}
