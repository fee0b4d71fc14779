import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { BadRequest, Conflict, Forbidden, LengthRequired, MethodNotAllowed, NotFound } from '@feathersjs/errors'
import type { Middleware } from '@feathersjs/koa'
import type { ServiceApplication } from '@marketmesh/shared'
import { LocalStorage, MEDIA_PATH } from './local-storage'
import { IMMUTABLE_CACHE_CONTROL, STORAGE_KEY, type MediaStorage } from './storage'

// images/<imageId>/<content hash>-<variant>.<ext>: the hash is the strong ETag.
const contentHashOf = (key: string) => /\/([0-9a-f]{16})-/.exec(key)?.[1]

/** Passes `limit` bytes through and fails the stream on one more. */
const atMost = (limit: number) => {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      callback(seen > limit ? new BadRequest(`The upload is longer than its Content-Length of ${limit} bytes`) : null, chunk)
    }
  })
}

/**
 * `/media/...`: the images (GET, HEAD) with an immutable Cache-Control and their content hash as
 * ETag, from either store; and, for the local store, the uploads' presigned PUTs: a signature for
 * exactly this key, type and length, not expired, for an image still waiting for its upload.
 * Unchecked uploads are never served.
 */
export const mediaRoute = (app: ServiceApplication, storage: MediaStorage): Middleware => {
  const db = app.get('postgresqlClient')

  const takeUpload: Middleware = async (ctx) => {
    if (!(storage instanceof LocalStorage)) throw new MethodNotAllowed('Uploads go to the bucket')
    const key = ctx.path.slice(MEDIA_PATH.length + 1)
    const expires = Number(ctx.query.expires)
    const signature = String(ctx.query.signature ?? '')
    const contentType = ctx.get('Content-Type')
    if (!ctx.get('Content-Length')) throw new LengthRequired('Content-Length is required')
    const size = Number(ctx.get('Content-Length'))
    if (!Number.isInteger(expires) || !/^[0-9a-f]{64}$/.test(signature) || !storage.verifyUpload({ key, contentType, size, expires }, signature)) {
      throw new Forbidden('The upload URL does not match this upload (its type and length are part of it)')
    }
    if (expires * 1000 < Date.now()) throw new Forbidden('The upload URL has expired')
    const image = await db('product_images').where({ uploadKey: key }).first('status')
    if (!image) throw new NotFound('No upload expected here')
    if (image.status !== 'pending') throw new Conflict(`The image is ${image.status}: its upload is closed`)
    const partial = await storage.partialPathOf(key)
    try {
      await pipeline(ctx.req, atMost(size), createWriteStream(partial))
    } catch (error) {
      await rm(partial, { force: true })
      throw error
    }
    await storage.commitPartial(key)
    ctx.status = 200
    ctx.body = ''
  }

  const serve: Middleware = async (ctx) => {
    const key = ctx.path.slice(MEDIA_PATH.length + 1)
    const hash = contentHashOf(key)
    if (!STORAGE_KEY.test(key) || !hash) throw new NotFound('No such image')
    const etag = `"${hash}"`
    ctx.set('ETag', etag)
    ctx.set('Cache-Control', IMMUTABLE_CACHE_CONTROL)
    ctx.set('X-Content-Type-Options', 'nosniff')
    if (ctx.get('If-None-Match') === etag) {
      ctx.status = 304
      return
    }
    const object = await storage.open(key)
    if (!object) throw new NotFound('No such image')
    ctx.type = object.contentType
    ctx.length = object.size
    // Koa sends no body for HEAD, and destroys the stream once the response is finished.
    ctx.body = object.body
  }

  return async (ctx, next) => {
    if (!ctx.path.startsWith(`${MEDIA_PATH}/`)) return next()
    if (ctx.method === 'PUT' && ctx.path.startsWith(`${MEDIA_PATH}/uploads/`)) return takeUpload(ctx, next)
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return serve(ctx, next)
    throw new MethodNotAllowed(`${ctx.method} is not allowed on ${MEDIA_PATH}`)
  }
}
